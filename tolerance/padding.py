"""Padding a bounded data density with half-normal tails (thesis §3.2).

A network generalises a little beyond the scales it was trained on, so the
target of the tolerance fit is the data density on x = log2(s) extended past
each bound b by f(b)·exp(-(x-b)²/(2w²)): a half-normal tail of width w octaves
(0.4 in the thesis) whose height matches the density at the bound, so the
padded density is continuous. The result is renormalised to integrate to 1.
Unbounded distributions are used as they are.
"""

from __future__ import annotations

import math

import numpy as np

from scaletol.checks import check_positive
from tolerance.distributions import ScaleDistribution

DEFAULT_PADDING = 0.4  # octaves
MAX_PADDING = 2.0  # octaves; wider tails would swamp the data they pad


class PaddedDensity:
    """The density of `dist` on x = log2(s) with half-normal tails of `width` octaves, in (0, MAX_PADDING]."""

    def __init__(self, dist: ScaleDistribution, width: float = DEFAULT_PADDING):
        self.dist = dist
        self.width = check_positive("padding", width, high=MAX_PADDING)
        if dist.bounds is None:
            self._edges = None
            self._norm = 1.0
            return
        a, b = (math.log2(bound) for bound in dist.bounds)
        heights = dist.pdf(np.array([a, b]))
        self._edges = (a, b, float(heights[0]), float(heights[1]))
        tail_mass = self.width * math.sqrt(math.pi / 2)  # ∫ exp(-t²/2w²) dt over t > 0
        self._norm = 1.0 + tail_mass * (heights[0] + heights[1])

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Padded density on x = log2(s) [1/octave]; integrates to 1 over the real line."""
        x = np.asarray(x, dtype=float)
        density = self.dist.pdf(x)
        if self._edges is None:
            return density
        a, b, height_a, height_b = self._edges
        below = height_a * np.exp(-0.5 * ((x - a) / self.width) ** 2)
        above = height_b * np.exp(-0.5 * ((x - b) / self.width) ** 2)
        density = density + np.where(x < a, below, 0.0) + np.where(x > b, above, 0.0)
        return density / self._norm
