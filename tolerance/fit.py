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

import numpy as np

from tolerance.distributions import ScaleDistribution, check_positive
from tolerance.grid import MARGIN_ABOVE, MARGIN_BELOW, FitTarget
from tolerance.kl import check_direction
from tolerance.mixture import check_ns
from tolerance.optimise import multistart_nelder_mead
from tolerance.padding import DEFAULT_PADDING
from tolerance.result import CombinedFit, NsScan, Suggestion

DEFAULT_TAU = 0.459  # octaves, the thesis's combined fit
DEFAULT_SIGMA_UNIT = 2.0  # px: basis σ that suits data scale 1 (thesis toy network)
MIN_ISR = 1.5
MIN_TAU = 0.1  # octaves
C_REF_FLOOR = 0.5  # c_ref >= C_REF_FLOOR × the data's smallest scale
NS_MAX = 8
NS_TOLERANCE = 0.01  # nats; KL(N(0,1)‖N(δ,1)) = δ²/2, so 0.01 nats ~ a shift of 0.14 std
START_WIDTH_FRACTIONS = (0.3, 0.6, 0.9)  # initial log2 ISR as fractions of the data's width
START_TAUS = (0.3, 0.6)  # octaves, starts of the combined fit
STEP_OCTAVES = 0.25  # initial simplex edge for u and v
STEP_TAU = 0.1

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
    """Deterministic starts for the free ones of (u, v), spread over the data's width.

    A free log2 ISR starts at fractions of the width with the scales centred on
    the data; with the ISR given (or N_S = 1) the scales start slid across it.
    """
    a, b = target.dist.log2_extent()
    width = b - a
    starts = []
    for fraction in START_WIDTH_FRACTIONS:
        v0 = max(fraction * width, _LOG2_MIN_ISR + STEP_OCTAVES) if free_v else v_fixed
        shift = 0.0 if free_v else (fraction - 0.5) * width
        u0 = (a + b) / 2 - v0 / 2 + shift
        starts.append([p for p, free in ((u0, free_u), (v0, free_v)) if free])
    return starts


def _fit_at_tau(target, ns, tau, direction, c_ref=None, isr=None, start=None):
    """(u, v, at_bound, FitResult or None) minimising the KL at fixed τ; `start`: (c_ref, isr) or None."""
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
    if start is None:
        starts = _starts(target, free_u, free_v, v_fixed)
    else:
        starts = [[math.log2(p) for p, free in zip(start, (free_u, free_v)) if free]]
    best, fit = multistart_nelder_mead(
        objective,
        starts,
        [name for _, name, _ in free],
        [low for _, _, low in free],
        [STEP_OCTAVES] * len(free),
    )
    at_bound = tuple(label for (label, _, low), value in zip(free, best) if value <= low + _AT_BOUND)
    u, v = unpack(best)
    return u, v, at_bound, fit


def _check_common(ns, tau, sigma_unit, direction, padding):
    return (
        check_ns(ns),
        check_positive("tau [octaves]", tau),
        check_positive("sigma_unit [px]", sigma_unit),
        check_direction(direction),
        check_positive("padding width [octaves]", padding),
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
    """
    ns, tau, sigma_unit, direction, padding = _check_common(ns, tau, sigma_unit, direction, padding)
    if c_ref is not None:
        c_ref = check_positive("c_ref", c_ref)
    if isr is not None:
        if ns == 1:
            raise ValueError(f"ISR {isr!r} needs N_S >= 2 (one internal scale has ISR 1)")
        isr = check_positive("ISR", isr)
        if isr < 1:
            raise ValueError(f"ISR must be >= 1, got {isr!r}")
    target = _target(dist, padding, margins)
    u, v, at_bound, fit = _fit_at_tau(target, ns, tau, direction, c_ref, isr, start)
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
    **options,
) -> NsScan:
    """Suggestions for N_S = 1..ns_max (2..ns_max when `isr` is given).

    Chooses the smallest N_S whose KL <= min KL + `tolerance` nats. `options`
    are passed on to `suggest` (tau, c_ref, sigma_unit, direction, padding, margins).
    """
    ns_max = check_ns(ns_max)
    tolerance = float(tolerance)
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"N_S tolerance must be a finite number >= 0 nats, got {tolerance!r}")
    first = 1 if isr is None else 2
    if ns_max < first:
        raise ValueError(f"ns_max must be >= {first}, got {ns_max}")
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

    Options as for `suggest`.
    Each start takes a τ from START_TAUS and, for that τ, every distribution's
    own best (c_ref, ISR); Nelder–Mead then moves all parameters together.
    """
    dists = list(dists)
    if not dists:
        raise ValueError("combined fit needs at least one distribution")
    ns, _, sigma_unit, direction, padding = _check_common(ns, DEFAULT_TAU, sigma_unit, direction, padding)
    targets = [_target(dist, padding, margins) for dist in dists]
    k = len(targets)
    with_isr = ns > 1

    def unpack(p):
        us = p[:k]
        vs = p[k : 2 * k] if with_isr else np.zeros(k)
        return us, vs, p[-1]

    def objective(p):
        us, vs, tau = unpack(p)
        return sum(t.kl(_scales(u, v, ns), tau, direction) for t, u, v in zip(targets, us, vs))

    starts = []
    for tau0 in START_TAUS:
        own = [_fit_at_tau(t, ns, tau0, direction)[:2] for t in targets]
        starts.append([u for u, _ in own] + ([v for _, v in own] if with_isr else []) + [tau0])
    names = [f"log2_c_ref[{i}]" for i in range(k)] + ([f"log2_isr[{i}]" for i in range(k)] if with_isr else [])
    lower = [_lower_u(t) for t in targets] + ([_LOG2_MIN_ISR] * k if with_isr else [])
    steps = [STEP_OCTAVES] * len(names) + [STEP_TAU]
    best, fit = multistart_nelder_mead(objective, starts, names + ["tau"], lower + [MIN_TAU], steps)
    us, vs, tau = unpack(best)
    suggestions = []
    for i, (target, u, v) in enumerate(zip(targets, us, vs)):
        at_bound = tuple(
            name
            for name, value, low in (("c_ref", u, lower[i]), ("isr", v if with_isr else math.inf, _LOG2_MIN_ISR))
            if value <= low + _AT_BOUND
        )
        suggestions.append(
            Suggestion(
                dist=target.dist,
                ns=ns,
                tau=float(tau),
                c_ref=2.0**u,
                isr=2.0**v,
                kl=target.kl(_scales(u, v, ns), tau, direction),
                direction=direction,
                padding=padding,
                sigma_unit=sigma_unit,
                at_bound=at_bound + (("tau",) if tau <= MIN_TAU + _AT_BOUND else ()),
            )
        )
    return CombinedFit(tau=float(tau), suggestions=suggestions, fit=fit)
