"""Kullback-Leibler divergence between densities sampled on a common grid."""

from __future__ import annotations

import numpy as np

from scaletol.checks import check_choice

# "model-data" is KL(model‖data), the thesis's choice; "data-model" is KL(data‖model).
DIRECTIONS = ("model-data", "data-model")


def check_direction(direction: str) -> str:
    """Return `direction`; InputError naming it unless it is one of DIRECTIONS."""
    return check_choice("kl_direction", direction, DIRECTIONS)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p‖q) = Σ p log(p/q) in nats of two non-negative weight vectors on the same grid.

    Each is normalised to sum 1 first, so p and q may be densities sampled on
    a uniform grid. Terms with p = 0 count 0; infinite where q = 0 < p.
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    if np.any(p < 0) or np.any(q < 0) or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("p and q must be non-negative with a positive sum")
    p, q = p / p.sum(), q / q.sum()
    held = p > 0
    if np.any(q[held] == 0):
        return float("inf")
    return float(np.dot(p[held], np.log(p[held] / q[held])))


def directed_kl(model: np.ndarray, data: np.ndarray, direction: str = "model-data") -> float:
    """KL(model‖data) or KL(data‖model) of two densities on the same grid."""
    if check_direction(direction) == "model-data":
        return kl_divergence(model, data)
    return kl_divergence(data, model)
