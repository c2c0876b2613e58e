"""How firm a suggestion from observed scales is: a percentile bootstrap.

The observations are resampled with replacement `resamples` times; each
resample gets the same estimator (tolerance.empirical, keeping the original's
decision on which ends are bounds) and the same fit (same N_S, τ, fixed
parameters, padding, KL direction), started from the full sample's optimum.
The interval of each parameter is the 2.5th to 97.5th percentile of its refits
(a 95 % percentile interval). Deterministic for a seed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from scaletol.checks import InputError, check_int
from tolerance.empirical import Empirical
from tolerance.result import Suggestion, fmt, format_table

PERCENTILES = (2.5, 97.5)
MIN_RESAMPLES = 20
MAX_RESAMPLES = 10000
PROGRESS_DELAY = 1.0  # seconds before a progress bar appears


@dataclass
class BootstrapIntervals:
    """Percentile intervals of c_ref, ISR and σ_basis [px] from `resamples` refits.

    values: the refits, {"c_ref", "isr", "sigma_basis"} -> shape [resamples];
    not_converged: how many refits' optimiser reported failure (kept).
    """

    suggestion: Suggestion
    resamples: int
    seed: int
    values: dict[str, np.ndarray]
    not_converged: int

    @property
    def observations(self) -> int:
        """How many observations were resampled."""
        return len(getattr(self.suggestion.dist, "scales", ()))

    def interval(self, name: str) -> tuple[float, float]:
        """(low, high): the PERCENTILES of parameter `name` over the refits."""
        low, high = np.percentile(self.values[name], PERCENTILES)
        return float(low), float(high)

    def to_dict(self) -> dict:
        return {
            "resamples": self.resamples,
            "seed": self.seed,
            "percentiles": list(PERCENTILES),
            **{name: list(self.interval(name)) for name in self.values},
            "not_converged": self.not_converged,
        }

    def report(self) -> str:
        estimates = {
            "c_ref": self.suggestion.c_ref,
            "isr": self.suggestion.isr,
            "sigma_basis": self.suggestion.sigma_basis,
        }
        labels = {"c_ref": "c_ref", "isr": "ISR", "sigma_basis": "sigma_basis[px]"}
        rows = [[labels[name], fmt(estimates[name]), *map(fmt, self.interval(name))] for name in self.values]
        low, high = PERCENTILES
        lines = [
            f"bootstrap: {self.resamples} resamples of the {self.observations} observations "
            f"(seed {self.seed}), {high - low:g} % percentile intervals",
            format_table(["", "estimate", f"{low:g}%", f"{high:g}%"], rows),
        ]
        if self.not_converged:
            lines.append(f"warning: {self.not_converged} refits did not converge")
        return "\n".join(lines)


def bootstrap(suggestion: Suggestion, resamples: int, *, seed: int = 0, progress: bool = False) -> BootstrapIntervals:
    """Refit `suggestion` (of an Empirical distribution) on `resamples` bootstrap resamples.

    resamples: MIN_RESAMPLES..MAX_RESAMPLES; seed: integer >= 0 for the
    resampling; progress: show a tqdm bar on stderr if it takes over a second.
    """
    from tqdm import tqdm

    from tolerance.fit import suggest

    dist = suggestion.dist
    if not isinstance(dist, Empirical):
        raise InputError(f"bootstrap resamples observations: dist={dist.name!r} must be 'empirical'")
    resamples = check_int("bootstrap resamples", resamples, low=MIN_RESAMPLES, high=MAX_RESAMPLES)
    seed = check_int("seed", seed, low=0)
    options: dict[str, Any] = dict(
        tau=suggestion.tau,
        c_ref=suggestion.c_ref if "c_ref" in suggestion.fixed else None,
        isr=suggestion.isr if "isr" in suggestion.fixed else None,
        sigma_unit=suggestion.sigma_unit,
        direction=suggestion.direction,
        padding=suggestion.padding,
        start=(suggestion.c_ref, suggestion.isr),
    )
    rng = np.random.default_rng(seed)
    refits = []
    for _ in tqdm(
        range(resamples), desc="bootstrap", file=sys.stderr, disable=not progress, delay=PROGRESS_DELAY, leave=False
    ):
        refits.append(suggest(dist.resampled(rng), suggestion.ns, **options))
    values = {
        "c_ref": np.array([r.c_ref for r in refits]),
        "isr": np.array([r.isr for r in refits]),
        "sigma_basis": np.array([r.sigma_basis for r in refits]),
    }
    not_converged = sum(1 for r in refits if r.fit is not None and not r.fit.success)
    return BootstrapIntervals(suggestion, resamples, seed, values, not_converged)
