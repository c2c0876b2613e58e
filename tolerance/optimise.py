"""Deterministic multi-start Nelder–Mead with lower bounds, in NumPy.

Written here rather than taken from scipy.optimize so that `tolcli suggest`
never imports SciPy (about 0.3 s of start-up). The method is the adaptive
Nelder–Mead of Gao and Han (2012): reflection 1, expansion 1 + 2/n,
contraction 0.75 - 1/(2n), shrink 1 - 1/n for n parameters. Every trial point
is clipped to the lower bounds, as scipy's bounded variant does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tolerance.result import FitResult

# Budget of one start; well-posed fits of the tolerance model converge within
# about 100 evaluations per parameter.
EVALUATIONS_PER_PARAMETER = 1000


def nelder_mead(
    objective: Callable[[np.ndarray], float],
    start: np.ndarray,
    lower: np.ndarray,
    steps: np.ndarray,
    *,
    xatol: float,
    fatol: float,
    max_evaluations: int,
) -> tuple[np.ndarray, float, int, int, bool]:
    """Minimise from `start` with an initial simplex of edges `steps`.

    Converged when every vertex lies within `xatol` of the best (each
    coordinate) and every value within `fatol` of the best value.
    Returns (best point, best value, iterations, evaluations, converged).
    """
    n = start.size
    expand, contract, shrink = 1.0 + 2.0 / n, 0.75 - 0.5 / n, 1.0 - 1.0 / n
    evaluations = 0

    def value(point):
        nonlocal evaluations
        evaluations += 1
        return float(objective(point))

    simplex = np.maximum(np.vstack([start, start + np.diag(steps)]), lower)
    values = np.array([value(p) for p in simplex])
    iterations = 0
    while True:
        order = np.argsort(values, kind="stable")
        simplex, values = simplex[order], values[order]
        spread = np.max(np.abs(simplex[1:] - simplex[0]))
        if spread <= xatol and np.max(np.abs(values[1:] - values[0])) <= fatol:
            return simplex[0], values[0], iterations, evaluations, True
        if evaluations >= max_evaluations:
            return simplex[0], values[0], iterations, evaluations, False
        iterations += 1
        centroid = simplex[:-1].mean(axis=0)
        worst = simplex[-1]
        reflected = np.maximum(2 * centroid - worst, lower)
        f_reflected = value(reflected)
        if f_reflected < values[0]:
            expanded = np.maximum(centroid + expand * (reflected - centroid), lower)
            f_expanded = value(expanded)
            simplex[-1], values[-1] = (expanded, f_expanded) if f_expanded < f_reflected else (reflected, f_reflected)
            continue
        if f_reflected < values[-2]:
            simplex[-1], values[-1] = reflected, f_reflected
            continue
        outside = f_reflected < values[-1]
        towards = reflected if outside else worst
        contracted = np.maximum(centroid + contract * (towards - centroid), lower)
        f_contracted = value(contracted)
        if f_contracted <= (f_reflected if outside else values[-1]):
            simplex[-1], values[-1] = contracted, f_contracted
            continue
        simplex[1:] = np.maximum(simplex[0] + shrink * (simplex[1:] - simplex[0]), lower)
        values[1:] = [value(p) for p in simplex[1:]]


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

    starts: points of len(names); lower: a lower bound per parameter; steps:
    the initial simplex's edge per parameter, in the parameter's units.
    Returns the best point and its FitResult (the best start's iterations;
    evaluations summed over all starts).
    """
    low = np.asarray(lower, dtype=float)
    edges = np.asarray(steps, dtype=float)
    budget = EVALUATIONS_PER_PARAMETER * low.size
    runs = []
    unique_starts: list[np.ndarray] = []
    for given in starts:
        start = np.maximum(np.asarray(given, dtype=float), low)
        if any(np.allclose(start, seen) for seen in unique_starts):
            continue
        unique_starts.append(start)
        runs.append(nelder_mead(objective, start, low, edges, xatol=xatol, fatol=fatol, max_evaluations=budget))
    evaluations = sum(run[3] for run in runs)
    point, fun, iterations, _, converged = min(runs, key=lambda run: run[1])
    result = FitResult(
        parameters={name: float(value) for name, value in zip(names, point)},
        objective=fun,
        success=converged and bool(np.isfinite(fun)),
        message="converged" if converged else f"stopped after {budget} evaluations without converging",
        iterations=iterations,
        evaluations=evaluations,
        starts=len(unique_starts),
    )
    return point, result
