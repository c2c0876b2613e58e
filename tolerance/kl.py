"""Kullback-Leibler divergence between densities sampled on a common grid."""

from __future__ import annotations

import numpy as np
from scipy.special import rel_entr

# "model-data" is KL(model‖data), the thesis's choice; "data-model" is KL(data‖model).
DIRECTIONS = ("model-data", "data-model")


def check_direction(direction: str) -> str:
    """Return `direction`; ValueError naming it unless it is one of DIRECTIONS."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown KL direction {direction!r}; choose one of {', '.join(DIRECTIONS)}")
    return direction


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p‖q) in nats of two non-negative weight vectors on the same grid.

    Each is normalised to sum 1 first, so p and q may be densities sampled on
    a uniform grid. Infinite where q = 0 < p.
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    if np.any(p < 0) or np.any(q < 0) or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("p and q must be non-negative with a positive sum")
    return float(rel_entr(p / p.sum(), q / q.sum()).sum())


def directed_kl(model: np.ndarray, data: np.ndarray, direction: str = "model-data") -> float:
    """KL(model‖data) or KL(data‖model) of two densities on the same grid."""
    if check_direction(direction) == "model-data":
        return kl_divergence(model, data)
    return kl_divergence(data, model)
