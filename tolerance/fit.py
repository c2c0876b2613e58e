"""Fitting the tolerance mixture to data scale distributions.

- `suggest`: τ fixed, c_ref and ISR free (or given) for one distribution.
- `suggest_ns`: the same for N_S = 1..ns_max, choosing the smallest N_S whose
  KL lies within `tolerance` nats of the best (the thesis leaves N_S open).
- `combined_fit`: several distributions, one shared τ, own (c_ref, ISR) each.

Parameters are optimised as u = log2 c_ref and v = log2 ISR (octaves, like τ)
by multi-start Nelder–Mead with the thesis's bounds: ISR >= 1.5, τ >= 0.1 and
c_ref >= half the data's smallest scale (the thesis's c_ref >= 0.5 for data
starting at scale 1, written relative to the data so that fits are scale
covariant). Starts are deterministic and never at ISR = 1, a saddle point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from scaletol.checks import InputError, check_number, check_positive
from tolerance.distributions import MAX_DISTRIBUTIONS, ScaleDistribution, check_scale
from tolerance.grid import MARGIN_ABOVE, MARGIN_BELOW, FitTarget
from tolerance.kl import check_direction
from tolerance.mixture import check_ns
from tolerance.optimise import multistart_nelder_mead
from tolerance.padding import DEFAULT_PADDING, MAX_PADDING
from tolerance.result import CombinedFit, FitResult, NsScan, Suggestion

DEFAULT_TAU = 0.459  # octaves, the thesis's combined fit
DEFAULT_SIGMA_UNIT = 2.0  # px: basis σ that suits data scale 1 (thesis toy network)
# Valid ranges of the values a user gives (the fits check them before any work):
TAU_LIMITS = (0.02, 4.0)  # octaves; below 0.02 a normal spans fewer than 5 grid points
MAX_SIGMA_UNIT = 1e4  # px
MAX_ISR = 1e4
MAX_NS_TOLERANCE = 10.0  # nats
MIN_ISR = 1.5
MIN_TAU = 0.1  # octaves, lower bound of a fitted τ (the thesis's)
MAX_TAU = 4.0  # octaves, upper bound of a fitted τ
C_REF_FLOOR = 0.5  # c_ref >= C_REF_FLOOR × the data's smallest scale
NS_MAX = 8
NS_TOLERANCE = 0.01  # nats; KL(N(0,1)‖N(δ,1)) = δ²/2, so 0.01 nats ~ a shift of 0.14 std
START_WIDTH_FRACTIONS = (0.3, 0.6, 0.9)  # initial log2 ISR as fractions of the data's width
STEP_OCTAVES = 0.25  # initial simplex edge for u and v
XATOL, FATOL = 1e-6, 1e-12  # octaves and nats: tolerances of the fitted log2 c_ref, log2 ISR and KL
# Combined fit: a start from the optimum at a neighbouring τ' gets a simplex
# edge of WARM_STEP_PER_TAU·|τ - τ'| octaves, clipped to WARM_STEP_LIMITS.
WARM_STEP_PER_TAU = 2.0
WARM_STEP_LIMITS = (1e-3, 0.1)  # octaves
SEARCH_TOLERANCES = (1e-4, 1e-8)  # octaves, nats: fits while searching τ (an error δ in
# log2 c_ref or ISR moves dP/dτ by O(δ); the final τ's fits use XATOL and FATOL)
TAU_SCAN = 9  # τ values on a log grid over [MIN_TAU, MAX_TAU] where the slope's sign is read
TAU_XATOL = 1e-5  # octaves
TAU_DIFFERENCE = 1e-5  # octaves: step of the central difference in τ

_LOG2_MIN_ISR = math.log2(MIN_ISR)
_AT_BOUND = 1e-6


def _scales(u: float, v: float, ns: int) -> np.ndarray:
    """Internal scales 2^(u + v·i/(ns-1)) in data units, shape [ns]."""
    if ns == 1:
        return np.array([2.0**u])
    return np.exp2(u + v * np.arange(ns) / (ns - 1))


def _lower_u(target: FitTarget) -> float:
    return target.dist.log2_extent()[0] + math.log2(C_REF_FLOOR)


def _starts(target: FitTarget, free_u: bool, free_v: bool, v_fixed: float | None) -> list[list[float]]:
    """Deterministic starts for the free ones of (u, v), spread over the data's width
    (the interval of its central 96 % of mass, so that a wide support whose mass
    sits at one end does not send the starts astray).

    A free log2 ISR (`v_fixed` None) starts at fractions of the width with the
    scales centred on the data; with the ISR given (`v_fixed`, 0 for N_S = 1)
    the scales start slid across it.
    """
    a, b = target.central_interval()
    width = b - a
    starts = []
    for fraction in START_WIDTH_FRACTIONS:
        if v_fixed is None:
            v0, shift = max(fraction * width, _LOG2_MIN_ISR + STEP_OCTAVES), 0.0
        else:
            v0, shift = v_fixed, (fraction - 0.5) * width
        u0 = (a + b) / 2 - v0 / 2 + shift
        starts.append([p for p, free in ((u0, free_u), (v0, v_fixed is None)) if free])
    return starts


def _fit_at_tau(target, ns, tau, direction, c_ref=None, isr=None, warm=None, start=None, tolerances=(XATOL, FATOL)):
    """(u, v, at_bound, FitResult or None) minimising the KL at fixed τ.

    tolerances: (octaves, nats) that end Nelder–Mead (tolerance.optimise).

    warm: (u, v, simplex edge) from a neighbouring τ's optimum: the only start,
    instead of the spread of cold starts; moved off the ISR bound so that no
    start sits at ISR <= MIN_ISR. start: (c_ref, isr), the only start otherwise.
    """
    free_u = c_ref is None
    free_v = ns > 1 and isr is None
    u_fixed = None if free_u else math.log2(c_ref)
    v_fixed = 0.0 if ns == 1 else (None if free_v else math.log2(isr))
    if not (free_u or free_v):
        return u_fixed, v_fixed, (), None

    def unpack(p):
        p = list(p)
        u = p.pop(0) if free_u else u_fixed
        v = p.pop(0) if free_v else v_fixed
        return u, v

    def objective(p):
        u, v = unpack(p)
        return target.kl(_scales(u, v, ns), tau, direction)

    free = [
        (label, name, low)
        for label, name, low, is_free in (
            ("c_ref", "log2_c_ref", _lower_u(target), free_u),
            ("isr", "log2_isr", _LOG2_MIN_ISR, free_v),
        )
        if is_free
    ]
    if warm is not None:
        u0, v0, step = warm
        v0 = max(v0, _LOG2_MIN_ISR + step)
        starts = [[p for p, is_free in ((u0, free_u), (v0, free_v)) if is_free]]
    elif start is not None:
        starts, step = [[math.log2(p) for p, free in zip(start, (free_u, free_v)) if free]], STEP_OCTAVES
    else:
        starts, step = _starts(target, free_u, free_v, v_fixed), STEP_OCTAVES
    best, fit = multistart_nelder_mead(
        objective,
        starts,
        [name for _, name, _ in free],
        [low for _, _, low in free],
        [step] * len(free),
        xatol=tolerances[0],
        fatol=tolerances[1],
    )
    at_bound = tuple(label for (label, _, low), value in zip(free, best) if value <= low + _AT_BOUND)
    u, v = unpack(best)
    return u, v, at_bound, fit


def check_tau(tau: Any) -> float:
    """A given τ [octaves]: InputError unless in TAU_LIMITS."""
    return check_number("tau", tau, low=TAU_LIMITS[0], high=TAU_LIMITS[1])


def _check_common(ns, sigma_unit, direction, padding):
    return (
        check_ns(ns),
        check_positive("sigma_unit", sigma_unit, high=MAX_SIGMA_UNIT),
        check_direction(direction),
        check_positive("padding", padding, high=MAX_PADDING),
    )


def _target(dist, padding, margins) -> FitTarget:
    below, above = margins
    return FitTarget(dist, padding, below=below, above=above)


def suggest(
    dist: ScaleDistribution,
    ns: int = 3,
    *,
    tau: float = DEFAULT_TAU,
    isr: float | None = None,
    c_ref: float | None = None,
    sigma_unit: float = DEFAULT_SIGMA_UNIT,
    direction: str = "model-data",
    padding: float = DEFAULT_PADDING,
    margins: tuple[float, float] = (MARGIN_BELOW, MARGIN_ABOVE),
    start: tuple[float, float] | None = None,
) -> Suggestion:
    """Internal scales for `dist` at fixed τ [octaves].

    c_ref and ISR are fitted unless given (`isr` needs ns >= 2). sigma_unit [px]
    converts c_ref to σ_basis; padding: half-normal tail width [octaves];
    direction: "model-data" (thesis) or "data-model"; margins: how far the
    fitting grid reaches below and above the data [octaves] (tolerance.grid);
    start: (c_ref, isr) to run one optimisation from instead of the default
    spread of starts (e.g. a nearby fit, as bootstrap refits do).
    Valid ranges: ns in [1, MAX_NS], tau in TAU_LIMITS, c_ref in SCALE_LIMITS,
    isr in [1, MAX_ISR], sigma_unit in (0, MAX_SIGMA_UNIT], padding in
    (0, MAX_PADDING]; InputError naming the value otherwise.
    """
    ns, sigma_unit, direction, padding = _check_common(ns, sigma_unit, direction, padding)
    tau = check_tau(tau)
    if c_ref is not None:
        c_ref = check_scale("c_ref", c_ref)
    if isr is not None:
        isr = check_number("isr", isr, low=1.0, high=MAX_ISR)
        if ns == 1:
            raise InputError(f"isr={isr!r} needs ns >= 2 (one internal scale has ISR 1)")
    target = _target(dist, padding, margins)
    u, v, at_bound, fit = _fit_at_tau(target, ns, tau, direction, c_ref, isr, start=start)
    fixed = ("tau",) + tuple(name for name, value in (("c_ref", c_ref), ("isr", isr)) if value is not None)
    return Suggestion(
        dist=dist,
        ns=ns,
        tau=tau,
        c_ref=2.0**u,
        isr=2.0**v,
        kl=target.kl(_scales(u, v, ns), tau, direction),
        direction=direction,
        padding=padding,
        sigma_unit=sigma_unit,
        fixed=fixed,
        at_bound=at_bound,
        fit=fit,
    )


def suggest_ns(
    dist: ScaleDistribution,
    *,
    ns_max: int = NS_MAX,
    tolerance: float = NS_TOLERANCE,
    isr: float | None = None,
    **options: Any,
) -> NsScan:
    """Suggestions for N_S = 1..ns_max (2..ns_max when `isr` is given).

    Chooses the smallest N_S whose KL <= min KL + `tolerance` nats. `options`
    are passed on to `suggest` (tau, c_ref, sigma_unit, direction, padding, margins).
    """
    ns_max = check_ns(ns_max, "ns_max")
    tolerance = check_number("ns_tolerance", tolerance, low=0.0, high=MAX_NS_TOLERANCE)
    first = 1 if isr is None else 2
    if ns_max < first:
        raise InputError(f"ns_max={ns_max} must be >= {first} with a given isr")
    candidates = [suggest(dist, ns, isr=isr, **options) for ns in range(first, ns_max + 1)]
    best = min(s.kl for s in candidates)
    chosen = next(s for s in candidates if s.kl <= best + tolerance)
    return NsScan(candidates=candidates, chosen=chosen, tolerance=tolerance)


def combined_fit(
    dists: Sequence[ScaleDistribution],
    ns: int = 3,
    *,
    sigma_unit: float = DEFAULT_SIGMA_UNIT,
    direction: str = "model-data",
    padding: float = DEFAULT_PADDING,
    margins: tuple[float, float] = (MARGIN_BELOW, MARGIN_ABOVE),
) -> CombinedFit:
    """One τ shared by all `dists`, own (c_ref, ISR) each: minimises the sum of KLs.

    Options as for `suggest`; at most MAX_DISTRIBUTIONS distributions.

    The per-distribution parameters are profiled out: at a given τ each
    distribution's (c_ref, ISR) is its own best fit (as `suggest` finds it),
    which makes the total KL P a function of τ alone. By the envelope theorem
    dP/dτ is the sum of each KL's partial derivative in τ at its own optimum
    (a central difference, two KL evaluations per distribution). Its sign is
    read on TAU_SCAN log-spaced τ over [MIN_TAU, MAX_TAU]; every sign change
    from - to + brackets a minimum, found by Brent's root search on dP/dτ
    (`scipy.optimize.brentq`); the lowest P among those minima and the range's
    ends wins. Every inner fit but the first starts from the optimum at the
    nearest τ already evaluated, and the final τ's fits are compared with cold
    multi-start fits, so the cost grows linearly with the number of distributions.
    """
    dists = list(dists)
    if not dists:
        raise InputError("combined fit needs at least one distribution")
    if len(dists) > MAX_DISTRIBUTIONS:
        raise InputError(f"{len(dists)} distributions must be at most {MAX_DISTRIBUTIONS}")
    ns, sigma_unit, direction, padding = _check_common(ns, sigma_unit, direction, padding)
    targets = [_target(dist, padding, margins) for dist in dists]
    solved: dict[float, list] = {}  # τ -> each distribution's (u, v, at_bound, FitResult)

    def fits_at(tau: float) -> list:
        tau = float(tau)
        if tau not in solved:
            nearest = min(solved, key=lambda seen: abs(seen - tau), default=None)
            step = float(np.clip(WARM_STEP_PER_TAU * abs(tau - (nearest or tau)), *WARM_STEP_LIMITS))
            solved[tau] = [
                _fit_at_tau(
                    t,
                    ns,
                    tau,
                    direction,
                    warm=None if nearest is None else (*solved[nearest][i][:2], step),
                    tolerances=SEARCH_TOLERANCES,
                )
                for i, t in enumerate(targets)
            ]
        return solved[tau]

    def total(tau: float) -> float:
        return sum(fit.objective for *_, fit in fits_at(tau))

    def slope(tau: float) -> float:
        """dP/dτ [nats/octave] at the per-distribution optima."""
        h = TAU_DIFFERENCE
        return sum(
            (t.kl(_scales(u, v, ns), tau + h, direction) - t.kl(_scales(u, v, ns), tau - h, direction)) / (2 * h)
            for t, (u, v, *_) in zip(targets, fits_at(tau))
        )

    from scipy.optimize import brentq  # fit-tau only: `suggest` never imports SciPy

    scan = np.geomspace(MIN_TAU, MAX_TAU, TAU_SCAN)
    slopes = [slope(tau) for tau in scan]
    candidates = [float(scan[0])] if slopes[0] >= 0 else []
    candidates += [float(scan[-1])] if slopes[-1] <= 0 else []
    for j in range(TAU_SCAN - 1):
        if slopes[j] < 0 <= slopes[j + 1]:
            candidates.append(float(brentq(slope, scan[j], scan[j + 1], xtol=TAU_XATOL)))
    tau = min(candidates, key=total)
    evaluations = sum(fit.evaluations for per_tau in solved.values() for *_, fit in per_tau)
    evaluations += 2 * len(targets) * len(solved)
    fits = []
    for target, found in zip(targets, solved[tau]):
        cold = _fit_at_tau(target, ns, tau, direction)
        fits.append(cold if cold[3].objective < found[3].objective else found)
        evaluations += cold[3].evaluations
    on_bound = ("tau",) if min(tau - MIN_TAU, MAX_TAU - tau) <= _AT_BOUND else ()
    converged = all(fit.success for *_, fit in fits)
    parameters = {f"log2_c_ref[{i}]": float(u) for i, (u, *_) in enumerate(fits)}
    if ns > 1:
        parameters.update({f"log2_isr[{i}]": float(v) for i, (_, v, *_) in enumerate(fits)})
    parameters["tau"] = tau
    suggestions = [
        Suggestion(
            dist=target.dist,
            ns=ns,
            tau=tau,
            c_ref=2.0**u,
            isr=2.0**v,
            kl=fit.objective,
            direction=direction,
            padding=padding,
            sigma_unit=sigma_unit,
            at_bound=at_bound + on_bound,
            fit=fit,
        )
        for target, (u, v, at_bound, fit) in zip(targets, fits)
    ]
    result = FitResult(
        parameters=parameters,
        objective=sum(s.kl for s in suggestions),
        success=converged and not on_bound,
        message=(
            f"tau ended on the bound {tau:g} of its search range [{MIN_TAU:g}, {MAX_TAU:g}] octaves"
            if on_bound
            else ("converged" if converged else "a fit of (c_ref, ISR) at the final tau did not converge")
        ),
        iterations=len(solved),
        evaluations=int(evaluations),
        starts=TAU_SCAN,
    )
    return CombinedFit(tau=tau, suggestions=suggestions, fit=result)
