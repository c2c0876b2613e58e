"""Result objects of the tolerance fits, each with `report()` (text), `to_dict()`
(JSON-ready: plain types, non-finite numbers as None) and `from_dict()`, its inverse."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tolerance.distributions import LogNormal
from tolerance.mixture import internal_scales

if TYPE_CHECKING:
    from tolerance.distributions import ScaleDistribution
    from tolerance.errors_io import ModelErrors

KL_LABELS = {"model-data": "KL(model||data)", "data-model": "KL(data||model)"}


def finite_or_none(value: float) -> float | None:
    """`value` as a float, or None when it is infinite or NaN (JSON has no such numbers)."""
    value = float(value)
    return value if math.isfinite(value) else None


def number(value: float | None) -> float:
    """The inverse of `finite_or_none`: None becomes NaN."""
    return math.nan if value is None else float(value)


def label_text(label: dict) -> str:
    """A model label as 'key=value ...' (numbers with up to 4 significant digits)."""
    parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in label.items()]
    return " ".join(parts) or "-"


def fmt(value: float) -> str:
    """A number with 4 significant digits, for tables."""
    return f"{value:.4g}"


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """Left-aligned text columns separated by two spaces."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [headers, *rows]]
    return "\n".join(lines)


@dataclass
class FitResult:
    """Outcome of a multi-start optimisation.

    parameters: fitted values by name (in the optimiser's units, e.g. log2 c_ref);
    objective: the best value; iterations: of the best start (of a combined
    fit: the τ values tried; of an errors fit: Brent steps); evaluations: of
    the objective over all `starts` (a combined fit: KL evaluations over all
    inner fits; its starts: the τ scan points).
    """

    parameters: dict[str, float]
    objective: float
    success: bool
    message: str
    iterations: int
    evaluations: int
    starts: int

    def to_dict(self) -> dict:
        return {
            "parameters": {k: finite_or_none(v) for k, v in self.parameters.items()},
            "objective": finite_or_none(self.objective),
            "success": self.success,
            "message": self.message,
            "iterations": self.iterations,
            "evaluations": self.evaluations,
            "starts": self.starts,
        }

    @classmethod
    def from_dict(cls, d: dict) -> FitResult:
        return cls(
            parameters={k: number(v) for k, v in d["parameters"].items()},
            objective=number(d["objective"]),
            success=bool(d["success"]),
            message=str(d["message"]),
            iterations=int(d["iterations"]),
            evaluations=int(d["evaluations"]),
            starts=int(d["starts"]),
        )

    def report(self) -> str:
        status = "converged" if self.success else "NOT converged"
        return (
            f"{status}: objective {fmt(self.objective)} after {self.iterations} iterations "
            f"({self.evaluations} evaluations, {self.starts} starts): {self.message}"
        )


def distribution_range(dist: ScaleDistribution) -> list[float]:
    """[lo, hi] in scale units: the bounds, or a log-normal's central ±2 std range."""
    if dist.bounds is not None:
        return [float(b) for b in dist.bounds]
    assert isinstance(dist, LogNormal), "the only unbounded distribution"
    return [2.0 ** (dist.mean - 2 * dist.std), 2.0 ** (dist.mean + 2 * dist.std)]


@dataclass
class Suggestion:
    """Internal scales for one data distribution.

    c_ref: data scale of the smallest internal scale; isr: largest/smallest
    (1 for ns = 1); tau: tolerance std [octaves]; kl: the fitted divergence in
    `direction`; sigma_unit: basis σ [px] suiting data scale 1; fixed: names
    of the parameters that were given rather than fitted; at_bound: fitted
    parameters that ended on a bound of their search range; fit: None if
    nothing was fitted.
    """

    dist: ScaleDistribution
    ns: int
    tau: float
    c_ref: float
    isr: float
    kl: float
    direction: str
    padding: float
    sigma_unit: float
    fixed: tuple[str, ...] = ()
    at_bound: tuple[str, ...] = ()
    fit: FitResult | None = None

    @property
    def internal_scales(self) -> np.ndarray:
        """Internal scales in data-scale units, shape [ns]."""
        return internal_scales(self.c_ref, self.isr, self.ns)

    @property
    def sigma_basis(self) -> float:
        """Smallest internal scale in pixels: σ_unit · c_ref."""
        return self.sigma_unit * self.c_ref

    def to_dict(self) -> dict:
        return {
            "dist": self.dist.name,
            "range": distribution_range(self.dist),
            "distribution": self.dist.to_dict(),
            "ns": self.ns,
            "tau": self.tau,
            "isr": self.isr,
            "c_ref": self.c_ref,
            "sigma_unit": self.sigma_unit,
            "sigma_basis": self.sigma_basis,
            "internal_scales": self.internal_scales.tolist(),
            "internal_scales_px": (self.sigma_unit * self.internal_scales).tolist(),
            "kl": finite_or_none(self.kl),
            "kl_direction": self.direction,
            "padding": self.padding,
            "fixed": list(self.fixed),
            "at_bound": list(self.at_bound),
            "fit": None if self.fit is None else self.fit.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Suggestion:
        from tolerance.distributions import distribution_from_dict

        return cls(
            dist=distribution_from_dict(d["distribution"]),
            ns=int(d["ns"]),
            tau=float(d["tau"]),
            c_ref=float(d["c_ref"]),
            isr=float(d["isr"]),
            kl=number(d["kl"]),
            direction=d["kl_direction"],
            padding=float(d["padding"]),
            sigma_unit=float(d["sigma_unit"]),
            fixed=tuple(d["fixed"]),
            at_bound=tuple(d["at_bound"]),
            fit=None if d["fit"] is None else FitResult.from_dict(d["fit"]),
        )

    def row(self) -> list[str]:
        """One table row (see `suggestion_table`)."""
        lo, hi = distribution_range(self.dist)

        def mark(name, value):
            return fmt(value) + ("*" if name in self.fixed else "") + ("!" if name in self.at_bound else "")

        return [
            self.dist.name,
            f"[{lo:.4g}, {hi:.4g}]",
            str(self.ns),
            mark("c_ref", self.c_ref),
            mark("isr", self.isr),
            fmt(self.sigma_basis),
            " ".join(fmt(c) for c in self.internal_scales),
            fmt(self.kl),
        ]

    def report(self) -> str:
        return suggestion_table([self])


def suggestion_table(suggestions: list[Suggestion]) -> str:
    """A readable table of suggestions with a header line and a legend."""
    first = suggestions[0]
    tau_note = "fixed" if "tau" in first.fixed else "fitted"
    header = (
        f"tau = {fmt(first.tau)} octaves ({tau_note}), sigma_unit = {fmt(first.sigma_unit)} px, "
        f"padding = {fmt(first.padding)} octaves, {KL_LABELS[first.direction]}"
    )
    table = format_table(
        ["dist", "range", "ns", "c_ref", "ISR", "sigma_basis[px]", "internal scales (data scale)", "KL"],
        [s.row() for s in suggestions],
    )
    notes = []
    if any({"c_ref", "isr"} & set(s.fixed) for s in suggestions):
        notes.append("* given, not fitted")
    if any(s.at_bound for s in suggestions):
        notes.append(
            "! on a bound of its search range (c_ref >= half the smallest data scale, ISR >= 1.5, tau in [0.1, 4])"
        )
    failed = [(s.dist.name, s.fit) for s in suggestions if s.fit is not None and not s.fit.success]
    notes += [f"warning: fit for {name} did not converge: {fit.message}" for name, fit in failed]
    return "\n".join([header, table, *notes])


@dataclass
class NsScan:
    """Suggestions for N_S = 1..ns_max and the chosen one.

    chosen: the smallest N_S whose KL is within `tolerance` nats of the best.
    """

    candidates: list[Suggestion]
    chosen: Suggestion
    tolerance: float

    @property
    def rule(self) -> str:
        return f"smallest N_S with KL <= min KL + {fmt(self.tolerance)} nats"

    def to_dict(self) -> dict:
        """The chosen suggestion's fields, the rule, and every candidate's full suggestion in `ns_scan`."""
        return {
            **self.chosen.to_dict(),
            "ns_rule": self.rule,
            "ns_tolerance": self.tolerance,
            "ns_scan": [s.to_dict() for s in self.candidates],
        }

    @classmethod
    def from_dict(cls, d: dict) -> NsScan:
        candidates = [Suggestion.from_dict(item) for item in d["ns_scan"]]
        chosen = next(s for s in candidates if s.ns == d["ns"])
        return cls(candidates=candidates, chosen=chosen, tolerance=float(d["ns_tolerance"]))

    def report(self) -> str:
        scan = format_table(
            ["ns", "c_ref", "ISR", "KL", ""],
            [
                [str(s.ns), fmt(s.c_ref), fmt(s.isr), fmt(s.kl), "<- chosen" if s is self.chosen else ""]
                for s in self.candidates
            ],
        )
        return "\n".join(
            [f"N_S scan for {self.chosen.dist.name} ({self.rule}):", scan, "", suggestion_table([self.chosen])]
        )


@dataclass
class CombinedFit:
    """One shared τ and per-distribution (c_ref, ISR) fitted together."""

    tau: float
    suggestions: list[Suggestion]
    fit: FitResult

    def to_dict(self) -> dict:
        first = self.suggestions[0]
        return {
            "tau": self.tau,
            "ns": first.ns,
            "kl_direction": first.direction,
            "padding": first.padding,
            "kl_total": finite_or_none(self.fit.objective),
            "success": self.fit.success,
            "inputs": [s.to_dict() for s in self.suggestions],
            "fit": self.fit.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> CombinedFit:
        return cls(
            tau=float(d["tau"]),
            suggestions=[Suggestion.from_dict(item) for item in d["inputs"]],
            fit=FitResult.from_dict(d["fit"]),
        )

    def report(self) -> str:
        return "\n".join(
            [
                f"combined fit of {len(self.suggestions)} distributions: tau = {fmt(self.tau)} octaves",
                suggestion_table(self.suggestions),
                self.fit.report(),
            ]
        )


@dataclass
class TauFromErrors:
    """τ fitted to recorded per-scale test errors (see tolerance.errors_fit).

    floors, gains: per model, in error-fraction units; rms: root mean square
    (unweighted) residual over all points; tau_stderr: NaN when τ is not
    identifiable (then fit.success is False and fit.message says why).
    """

    tau: float
    tau_stderr: float
    models: list[ModelErrors]
    floors: np.ndarray
    gains: np.ndarray
    rms: float
    fit: FitResult = field(repr=False)

    @property
    def warnings(self) -> list[str]:
        """Models whose gain is negative: their error falls where their scales miss the data."""
        return [
            f"gain {gain:.3g} < 0 for {label_text(model.label)}: its error falls where its scales miss "
            "the data, which the error model does not describe"
            for model, gain in zip(self.models, self.gains)
            if gain < 0
        ]

    def to_dict(self) -> dict:
        inputs = []
        for model, floor, gain in zip(self.models, self.floors, self.gains):
            scales = model.internal_scales
            inputs.append(
                {
                    "label": dict(model.label),
                    "ns": int(scales.size),
                    "c_ref": float(scales[0]),
                    "isr": float(scales[-1] / scales[0]),
                    "sigma_unit": float(model.sigma_unit),
                    "internal_scales": scales.tolist(),
                    "internal_scales_px": (model.sigma_unit * scales).tolist(),
                    "floor": float(floor),
                    "gain": float(gain),
                    "points": int(model.data_scales.size),
                    "data_scales": model.data_scales.tolist(),
                    "errors": model.errors.tolist(),
                    "n": None if model.n is None else model.n.tolist(),
                }
            )
        return {
            "tau": self.tau,
            "tau_stderr": finite_or_none(self.tau_stderr),
            "success": self.fit.success,
            "message": self.fit.message,
            "rms": self.rms,
            "weighted": any(model.n is not None for model in self.models),
            "warnings": self.warnings,
            "inputs": inputs,
            "fit": self.fit.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> TauFromErrors:
        from tolerance.errors_io import ModelErrors

        models = [
            ModelErrors(
                label=dict(item["label"]),
                internal_scales=np.asarray(item["internal_scales"], dtype=float),
                data_scales=np.asarray(item["data_scales"], dtype=float),
                errors=np.asarray(item["errors"], dtype=float),
                n=None if item["n"] is None else np.asarray(item["n"], dtype=float),
                sigma_unit=float(item["sigma_unit"]),
            )
            for item in d["inputs"]
        ]
        return cls(
            tau=float(d["tau"]),
            tau_stderr=number(d["tau_stderr"]),
            models=models,
            floors=np.array([item["floor"] for item in d["inputs"]], dtype=float),
            gains=np.array([item["gain"] for item in d["inputs"]], dtype=float),
            rms=float(d["rms"]),
            fit=FitResult.from_dict(d["fit"]),
        )

    def report(self) -> str:
        rows = [
            [
                label_text(model.label),
                str(model.internal_scales.size),
                fmt(model.internal_scales[0]),
                fmt(model.internal_scales[-1] / model.internal_scales[0]),
                fmt(floor),
                fmt(gain),
                str(model.data_scales.size),
            ]
            for model, floor, gain in zip(self.models, self.floors, self.gains)
        ]
        table = format_table(["model", "ns", "c_ref", "ISR", "floor", "gain", "points"], rows)
        weighting = "binomially weighted" if self.to_dict()["weighted"] else "unweighted"
        spread = f"+- {fmt(self.tau_stderr)}" if self.fit.success else "(NOT IDENTIFIABLE)"
        head = (
            f"tau = {fmt(self.tau)} {spread} octaves from {len(self.models)} models "
            f"({weighting}; rms residual {fmt(self.rms)})"
        )
        notes = [] if self.fit.success else [f"warning: {self.fit.message}"]
        notes += [f"warning: {text}" for text in self.warnings]
        return "\n".join([head, table, *notes])
