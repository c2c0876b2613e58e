"""Deterministic multi-start Nelder–Mead with lower bounds (scipy's bounded variant)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize

from tolerance.result import FitResult


def multistart_nelder_mead(
    objective: Callable[[np.ndarray], float],
    starts: Sequence[Sequence[float]],
    names: Sequence[str],
    lower: Sequence[float],
    steps: Sequence[float],
    *,
    xatol: float = 1e-6,
    fatol: float = 1e-12,
) -> tuple[np.ndarray, FitResult]:
    """Minimise `objective` from every start; keep the best.

    starts: points of len(names); lower: a lower bound per parameter (scipy
    clips the simplex to it); steps: the initial simplex's edge per parameter,
    in the parameter's units. Returns the best point and its FitResult (the
    best start's message and iterations; evaluations summed over all starts).
    """
    low = np.asarray(lower, dtype=float)
    edges = np.asarray(steps, dtype=float)
    bounds = [(bound, None) for bound in low]
    unique_starts: list[np.ndarray] = []
    runs = []
    for given in starts:
        start = np.maximum(np.asarray(given, dtype=float), low)
        if any(np.allclose(start, seen) for seen in unique_starts):
            continue
        unique_starts.append(start)
        simplex = np.vstack([start, start + np.diag(edges)])
        run = minimize(
            objective,
            start,
            method="Nelder-Mead",
            bounds=bounds,
            options={
                "initial_simplex": simplex,
                "xatol": xatol,
                "fatol": fatol,
                "maxiter": 4000 * len(start),
                "maxfev": 4000 * len(start),
                "adaptive": True,
            },
        )
        runs.append(run)
    best = min(runs, key=lambda run: run.fun)
    result = FitResult(
        parameters={name: float(value) for name, value in zip(names, best.x)},
        objective=float(best.fun),
        success=bool(best.success) and bool(np.isfinite(best.fun)),
        message=str(best.message),
        iterations=int(best.nit),
        evaluations=int(sum(run.nfev for run in runs)),
        starts=len(unique_starts),
    )
    return best.x, result
