"""The internal-scale tolerance mixture (thesis §3.2, Eq. 3).

N_S internal scales sit at data scales c_i = c_ref · ISR^(i/(N_S-1)),
i = 0..N_S-1 (one scale c_ref when N_S = 1). Each tolerates data scales around
it as a normal on x = log2(s) with std τ octaves; the model is the
equal-weight mixture of those N_S normals.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scaletol.checks import check_int, check_number, check_positive

MAX_NS = 16  # internal scales; each adds one normal to every density evaluation


def check_ns(ns: Any, name: str = "ns") -> int:
    """Return `ns` as an int; InputError naming it unless it is an integer in [1, MAX_NS]."""
    return check_int(name, ns, low=1, high=MAX_NS)


def internal_scales(c_ref: float, isr: float, ns: int) -> np.ndarray:
    """Internal scales in data-scale units, shape [ns], smallest first."""
    ns = check_ns(ns)
    c_ref = check_positive("c_ref", c_ref)
    isr = check_number("isr", isr, low=1.0)
    if ns == 1:
        return np.array([c_ref])
    return c_ref * isr ** (np.arange(ns) / (ns - 1))


def component_pdfs(x: np.ndarray, scales: np.ndarray, tau: float) -> np.ndarray:
    """Weighted components on x = log2(s), shape [len(scales), *x.shape].

    Component i is Normal(log2 scales[i], tau) times 1/len(scales), so the
    components sum to the mixture density.
    """
    tau = check_positive("tau", tau)
    x = np.asarray(x, dtype=float)
    centres = np.log2(np.asarray(scales, dtype=float)).reshape((-1,) + (1,) * x.ndim)
    z = (x - centres) / tau
    return np.exp(-0.5 * z * z) / (tau * math.sqrt(2 * math.pi) * centres.shape[0])


def mixture_pdf(x: np.ndarray, scales: np.ndarray, tau: float) -> np.ndarray:
    """Tolerance mixture density on x = log2(s) [1/octave], same shape as `x`.

    The sum of `component_pdfs`, computed in place with the normalisation
    applied once (the fits evaluate it thousands of times).
    """
    tau = check_positive("tau", tau)
    x = np.asarray(x, dtype=float)
    centres = np.log2(np.asarray(scales, dtype=float)).reshape((-1,) + (1,) * x.ndim)
    terms = np.subtract(x, centres)
    terms *= 1.0 / tau
    np.square(terms, out=terms)
    terms *= -0.5
    np.exp(terms, out=terms)
    density = terms.sum(axis=0)
    density *= 1.0 / (tau * math.sqrt(2 * math.pi) * centres.shape[0])
    return density
