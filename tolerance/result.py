"""Result objects of the tolerance fits, each with `report()` (text) and `to_dict()` (JSON)."""

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
    objective: the best value; iterations: of the best start; evaluations: of
    the objective over all `starts`.
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
            "parameters": dict(self.parameters),
            "objective": self.objective,
            "success": self.success,
            "message": self.message,
            "iterations": self.iterations,
            "evaluations": self.evaluations,
            "starts": self.starts,
        }

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
    parameters that ended on their lower bound; fit: None if nothing was fitted.
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
            "kl": self.kl,
            "kl_direction": self.direction,
            "padding": self.padding,
            "fixed": list(self.fixed),
            "at_bound": list(self.at_bound),
            "fit": None if self.fit is None else self.fit.to_dict(),
        }

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
        notes.append("! on its lower bound (c_ref >= half the smallest data scale, ISR >= 1.5)")
    notes += [
        f"warning: fit for {s.dist.name} did not converge: {s.fit.message}"
        for s in suggestions
        if s.fit is not None and not s.fit.success
    ]
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
        scan = [{"ns": s.ns, "kl": s.kl, "c_ref": s.c_ref, "isr": s.isr} for s in self.candidates]
        return {**self.chosen.to_dict(), "ns_rule": self.rule, "ns_scan": scan}

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
            "kl_total": self.fit.objective,
            "inputs": [s.to_dict() for s in self.suggestions],
            "fit": self.fit.to_dict(),
        }

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
    residual over all points; tau_stderr: from the Jacobian at the optimum.
    """

    tau: float
    tau_stderr: float
    models: list[ModelErrors]
    floors: np.ndarray
    gains: np.ndarray
    rms: float
    fit: FitResult = field(repr=False)

    def to_dict(self) -> dict:
        inputs = []
        for model, floor, gain in zip(self.models, self.floors, self.gains):
            scales = model.internal_scales
            inputs.append(
                {
                    "label": model.label,
                    "ns": int(scales.size),
                    "c_ref": float(scales[0]),
                    "isr": float(scales[-1] / scales[0]),
                    "internal_scales": scales.tolist(),
                    "floor": float(floor),
                    "gain": float(gain),
                    "points": int(model.data_scales.size),
                }
            )
        stderr = self.tau_stderr if math.isfinite(self.tau_stderr) else None
        return {"tau": self.tau, "tau_stderr": stderr, "rms": self.rms, "inputs": inputs, "fit": self.fit.to_dict()}

    def report(self) -> str:
        rows = []
        for item in self.to_dict()["inputs"]:
            label = " ".join(f"{k}={v}" for k, v in item["label"].items()) or "-"
            rows.append(
                [
                    label,
                    str(item["ns"]),
                    fmt(item["c_ref"]),
                    fmt(item["isr"]),
                    fmt(item["floor"]),
                    fmt(item["gain"]),
                    str(item["points"]),
                ]
            )
        table = format_table(["model", "ns", "c_ref", "ISR", "floor", "gain", "points"], rows)
        head = (
            f"tau = {fmt(self.tau)} +- {fmt(self.tau_stderr)} octaves from {len(self.models)} models "
            f"(rms residual {fmt(self.rms)})"
        )
        return "\n".join([head, table, self.fit.report()])
