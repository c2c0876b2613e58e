"""τ from recorded per-scale test errors of trained models.

Error model. A model m with internal data scales c_{m,i} covers data scale s
through its tolerance: internal scale i covers s with
g_i(s) = exp(-(log2 s - log2 c_{m,i})² / (2τ²)) (1 at c_{m,i}, the mixture
component scaled to peak 1), and the scales cover s together unless all miss it:

    coverage_m(s) = 1 - Π_i (1 - g_i(s))                  (in [0, 1])
    error_m(s)    = floor_m + gain_m · (1 - coverage_m(s))

floor_m (the error where the model is fully covered) and gain_m (how much an
uncovered scale adds) are nuisance parameters of each model; τ [octaves] is
shared. All are fitted by least squares over every (model, data scale) point.

Fit. For τ on a log grid from 0.05 to 4 octaves, floor and gain of each model
follow in closed form (linear least squares); the best grid points that are
local minima start `scipy.optimize.least_squares` over all parameters. The
standard error of τ is sqrt(diag(s² (JᵀJ)⁻¹)) with J the Jacobian at the
optimum and s² = RSS / (points - parameters).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import least_squares

from tolerance.errors_io import ModelErrors
from tolerance.result import FitResult, TauFromErrors

TAU_GRID = np.geomspace(0.05, 4.0, 64)  # octaves
REFINED_STARTS = 3
MIN_POINTS_PER_MODEL = 3


def coverage(data_scales: ArrayLike, internal_scales: ArrayLike, tau: float) -> np.ndarray:
    """How well the internal scales cover each data scale, in [0, 1], shape of `data_scales`."""
    x = np.log2(np.asarray(data_scales, dtype=float))[..., None]
    centres = np.log2(np.asarray(internal_scales, dtype=float))
    misses = 1.0 - np.exp(-0.5 * ((x - centres) / tau) ** 2)
    return 1.0 - misses.prod(axis=-1)


def predicted_errors(
    data_scales: ArrayLike, internal_scales: ArrayLike, tau: float, floor: float, gain: float
) -> np.ndarray:
    """floor + gain · (1 - coverage): the error model, shape of `data_scales`."""
    return floor + gain * (1.0 - coverage(data_scales, internal_scales, tau))


def _floor_gain(model: ModelErrors, tau: float) -> tuple[float, float, float]:
    """Least-squares (floor, gain) of one model at fixed τ, and its RSS."""
    uncovered = 1.0 - coverage(model.data_scales, model.internal_scales, tau)
    design = np.column_stack([np.ones_like(uncovered), uncovered])
    (floor, gain), *_ = np.linalg.lstsq(design, model.errors, rcond=None)
    rss = float(np.sum((design @ [floor, gain] - model.errors) ** 2))
    return float(floor), float(gain), rss


def _profile(models: list[ModelErrors], tau: float) -> float:
    return sum(_floor_gain(model, tau)[2] for model in models)


def _check_models(models: list[ModelErrors]) -> None:
    if not models:
        raise ValueError("no models to fit")
    for model in models:
        if model.data_scales.size < MIN_POINTS_PER_MODEL:
            raise ValueError(
                f"model {model.label} has {model.data_scales.size} error points; "
                f"fitting needs at least {MIN_POINTS_PER_MODEL} per model"
            )
        if np.unique(model.data_scales).size < MIN_POINTS_PER_MODEL:
            raise ValueError(f"model {model.label} needs errors at {MIN_POINTS_PER_MODEL} distinct data scales")


def fit_tau_from_errors(models: list[ModelErrors]) -> TauFromErrors:
    """Fit the shared τ [octaves] (and each model's floor and gain) to recorded errors."""
    models = list(models)
    _check_models(models)
    k = len(models)
    points = sum(model.data_scales.size for model in models)

    def residuals(p):
        tau, floors, gains = p[0], p[1 : k + 1], p[k + 1 :]
        return np.concatenate(
            [
                predicted_errors(m.data_scales, m.internal_scales, tau, f, g) - m.errors
                for m, f, g in zip(models, floors, gains)
            ]
        )

    profile = np.array([_profile(models, tau) for tau in TAU_GRID])
    is_local_min = np.r_[True, profile[1:] <= profile[:-1]] & np.r_[profile[:-1] <= profile[1:], True]
    candidates = np.flatnonzero(is_local_min)
    starts = candidates[np.argsort(profile[candidates])][:REFINED_STARTS]
    runs = []
    for index in starts:
        tau0 = TAU_GRID[index]
        floor_gain = np.array([_floor_gain(model, tau0)[:2] for model in models])
        start = np.concatenate([[tau0], floor_gain[:, 0], floor_gain[:, 1]])
        lower = np.r_[TAU_GRID[0] / 10, np.full(2 * k, -np.inf)]
        runs.append(least_squares(residuals, start, bounds=(lower, np.inf), x_scale="jac"))
    best = min(runs, key=lambda run: run.cost)
    tau = float(best.x[0])
    dof = points - best.x.size
    rss = 2.0 * best.cost
    if dof > 0:
        covariance = rss / dof * np.linalg.pinv(best.jac.T @ best.jac)
        tau_stderr = float(np.sqrt(max(covariance[0, 0], 0.0)))
    else:
        tau_stderr = float("nan")
    names = ["tau"] + [f"floor[{i}]" for i in range(k)] + [f"gain[{i}]" for i in range(k)]
    fit = FitResult(
        parameters={name: float(value) for name, value in zip(names, best.x)},
        objective=rss,
        success=bool(best.success),
        message=str(best.message),
        iterations=int(best.njev),  # one Jacobian per trust-region iteration
        evaluations=int(sum(run.nfev for run in runs) + TAU_GRID.size),
        starts=int(len(starts)),
    )
    return TauFromErrors(
        tau=tau,
        tau_stderr=tau_stderr,
        models=models,
        floors=best.x[1 : k + 1].copy(),
        gains=best.x[k + 1 :].copy(),
        rms=float(np.sqrt(rss / points)),
        fit=fit,
    )
