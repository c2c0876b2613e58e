"""τ from recorded per-scale test errors of trained models.

Error model. A model m with internal data scales c_{m,i} covers data scale s
through its tolerance: internal scale i covers s with
g_i(s) = exp(-(log2 s - log2 c_{m,i})² / (2τ²)) (1 at c_{m,i}, the mixture
component scaled to peak 1), and the scales cover s together unless all miss it:

    coverage_m(s) = 1 - Π_i (1 - g_i(s))                  (in [0, 1])
    error_m(s)    = floor_m + gain_m · (1 - coverage_m(s))

floor_m (the error where the model is fully covered) and gain_m (how much an
uncovered scale adds; negative when a model errs more where it is covered)
are nuisance parameters of each model; τ [octaves] is shared.

Weights. Without test counts every point weighs 1. With n test samples behind
a point of error rate p, the point weighs 1/variance of a binomial rate,
w = n / (p̃ (1 - p̃)), p̃ = (p·n + 0.5) / (n + 1): the observed rate moved half
a sample away from 0 and 1, so that a point without errors keeps a finite
weight. All parameters minimise the weighted sum of squared residuals.

Fit. For a given τ, floor and gain of each model follow in closed form
(weighted linear least squares), so the sum is a function of τ alone (the
profile). It is evaluated on TAU_GRID and minimised by bounded Brent search
between the best grid point's neighbours. The standard error of τ is
sqrt(s² / I): s² = weighted RSS / (points - parameters) and
I = Σ_m |(1 - H_m) √w ∂error_m/∂τ|², H_m the projection onto model m's
weighted (floor, gain) columns, which is the τ entry of s²(JᵀJ)⁻¹ for the
Jacobian J of all parameters. τ is reported as not identifiable (success
False, no standard error) when the profile is flat (it varies by less than
FLAT·Σ w·error² over TAU_GRID: errors that do not depend on the data scale),
when τ ends on a bound of TAU_GRID, or when τ ± 2 standard errors leaves that
range (errors that barely depend on the data scale).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scaletol.checks import InputError
from tolerance.errors_io import ModelErrors
from tolerance.result import FitResult, TauFromErrors

TAU_GRID = np.geomspace(0.05, 4.0, 64)  # octaves: the search range of τ and its first grid
TAU_XATOL = 1e-6  # octaves
FLAT = 1e-9  # a profile varying less than this fraction of Σ w·error² does not depend on τ
MIN_POINTS_PER_MODEL = 3


def coverage(data_scales: ArrayLike, internal_scales: ArrayLike, tau: float) -> np.ndarray:
    """How well the internal scales cover each data scale, in [0, 1], shape of `data_scales`."""
    return 1.0 - _misses(data_scales, internal_scales, tau).prod(axis=-1)


def _misses(data_scales, internal_scales, tau) -> np.ndarray:
    """1 - g_i(s), shape [*data_scales.shape, ns]."""
    distance = np.log2(np.asarray(data_scales, dtype=float))[..., None] - np.log2(
        np.asarray(internal_scales, dtype=float)
    )
    return 1.0 - np.exp(-0.5 * (distance / tau) ** 2)


def _uncovered_slope(data_scales, internal_scales, tau) -> np.ndarray:
    """∂(1 - coverage)/∂τ [1/octave], shape of `data_scales`."""
    distance = np.log2(np.asarray(data_scales, dtype=float))[..., None] - np.log2(
        np.asarray(internal_scales, dtype=float)
    )
    hit = np.exp(-0.5 * (distance / tau) ** 2)
    misses = 1.0 - hit
    slope = np.zeros(np.shape(data_scales))
    for i in range(misses.shape[-1]):
        others = np.delete(misses, i, axis=-1).prod(axis=-1)
        slope -= hit[..., i] * distance[..., i] ** 2 / tau**3 * others
    return slope


def predicted_errors(
    data_scales: ArrayLike, internal_scales: ArrayLike, tau: float, floor: float, gain: float
) -> np.ndarray:
    """floor + gain · (1 - coverage): the error model, shape of `data_scales`."""
    return floor + gain * (1.0 - coverage(data_scales, internal_scales, tau))


def point_weights(model: ModelErrors) -> np.ndarray:
    """Each point's weight: 1, or n / (p̃(1 - p̃)) with test counts (see the module docstring)."""
    if model.n is None:
        return np.ones_like(model.errors)
    rate = (model.errors * model.n + 0.5) / (model.n + 1.0)
    return model.n / (rate * (1.0 - rate))


def _floor_gain(model: ModelErrors, weights: np.ndarray, tau: float) -> tuple[float, float, float]:
    """Weighted least-squares (floor, gain) of one model at fixed τ, and its weighted RSS."""
    root = np.sqrt(weights)
    uncovered = 1.0 - coverage(model.data_scales, model.internal_scales, tau)
    design = np.column_stack([np.ones_like(uncovered), uncovered]) * root[:, None]
    target = model.errors * root
    (floor, gain), *_ = np.linalg.lstsq(design, target, rcond=None)
    rss = float(np.sum((design @ [floor, gain] - target) ** 2))
    return float(floor), float(gain), rss


def _information(models, weights, tau, gains) -> float:
    """I = Σ_m |(1 - H_m) √w ∂error/∂τ|² (see the module docstring)."""
    total = 0.0
    for model, w, gain in zip(models, weights, gains):
        root = np.sqrt(w)
        uncovered = 1.0 - coverage(model.data_scales, model.internal_scales, tau)
        design = np.column_stack([np.ones_like(uncovered), uncovered]) * root[:, None]
        column = gain * _uncovered_slope(model.data_scales, model.internal_scales, tau) * root
        fitted, *_ = np.linalg.lstsq(design, column, rcond=None)
        total += float(np.sum((column - design @ fitted) ** 2))
    return total


def _check_models(models: list[ModelErrors]) -> None:
    if not models:
        raise InputError("no models to fit")
    for model in models:
        if model.data_scales.size < MIN_POINTS_PER_MODEL:
            raise InputError(
                f"model {model.label} has {model.data_scales.size} error points; "
                f"fitting needs at least {MIN_POINTS_PER_MODEL} per model"
            )
        if np.unique(model.data_scales).size < MIN_POINTS_PER_MODEL:
            raise InputError(f"model {model.label} needs errors at {MIN_POINTS_PER_MODEL} distinct data scales")


def fit_tau_from_errors(models: list[ModelErrors]) -> TauFromErrors:
    """Fit the shared τ [octaves] (and each model's floor and gain) to recorded errors."""
    from scipy.optimize import minimize_scalar

    models = list(models)
    _check_models(models)
    weights = [point_weights(model) for model in models]
    points = sum(model.data_scales.size for model in models)

    def profile(tau: float) -> float:
        return sum(_floor_gain(m, w, tau)[2] for m, w in zip(models, weights))

    grid = np.array([profile(tau) for tau in TAU_GRID])
    best = int(np.argmin(grid))
    bracket = (TAU_GRID[max(best - 1, 0)], TAU_GRID[min(best + 1, TAU_GRID.size - 1)])
    search = minimize_scalar(profile, bounds=bracket, method="bounded", options={"xatol": TAU_XATOL})
    tau = float(search.x) if search.fun <= grid[best] else float(TAU_GRID[best])
    floor_gain = np.array([_floor_gain(m, w, tau)[:2] for m, w in zip(models, weights)])
    floors, gains = floor_gain[:, 0], floor_gain[:, 1]
    rss = profile(tau)
    dof = points - (1 + 2 * len(models))
    information = _information(models, weights, tau, gains)
    stderr = float(np.sqrt(rss / dof / information)) if dof > 0 and information > 0 else float("inf")
    lo, hi = TAU_GRID[0], TAU_GRID[-1]
    scale = sum(float(np.sum(w * m.errors**2)) for m, w in zip(models, weights))
    if grid.max() - grid.min() <= FLAT * scale:
        message = (
            "tau is not identifiable: the fit is equally good for every tau (errors do not depend on the data scale)"
        )
    elif min(tau - lo, hi - tau) <= 10 * TAU_XATOL:
        message = (
            f"tau is not identifiable: it ends on the bound {tau:.3g} of its search range [{lo:g}, {hi:g}] octaves"
        )
    elif not (lo < tau - 2 * stderr and tau + 2 * stderr < hi):
        message = (
            f"tau is not identifiable: tau +- 2 standard errors ({tau:.3g} +- {2 * stderr:.3g} octaves) "
            f"leaves the search range [{lo:g}, {hi:g}] (errors that barely depend on the data scale)"
        )
    else:
        message = "converged"
    identified = message == "converged"
    residuals = np.concatenate(
        [
            predicted_errors(m.data_scales, m.internal_scales, tau, f, g) - m.errors
            for m, f, g in zip(models, floors, gains)
        ]
    )
    names = ["tau"] + [f"floor[{i}]" for i in range(len(models))] + [f"gain[{i}]" for i in range(len(models))]
    fit = FitResult(
        parameters=dict(zip(names, [tau, *floors.tolist(), *gains.tolist()])),
        objective=rss,
        success=identified and bool(search.success),
        message=message,
        iterations=int(search.nfev),
        evaluations=int(search.nfev + TAU_GRID.size),
        starts=1,
    )
    return TauFromErrors(
        tau=tau,
        tau_stderr=stderr if identified else float("nan"),
        models=models,
        floors=floors,
        gains=gains,
        rms=float(np.sqrt(np.mean(residuals**2))),
        fit=fit,
    )
