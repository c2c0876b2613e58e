"""Empirical scale distributions: observed object scales read from a file.

The density on x = log2(s) is a Gaussian kernel density estimate of the
observed log2 scales (Scott's bandwidth), truncated to [min, max] of the
observations and renormalised there, so it is bounded like the parametric
distributions and gets the same padding. Observations are binned into
`KDE_BINS` equal bins before smoothing, which keeps large files fast.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numpy.typing import ArrayLike

from scaletol.checks import InputError
from scaletol.tables import read_table, read_values
from tolerance.distributions import SCALE_LIMITS, ScaleDistribution

KDE_BINS = 512


def read_scales(path: str | os.PathLike, column: str | None = None) -> np.ndarray:
    """Observed scales from `path`: one number per line, or CSV column `column`
    (read by `scaletol.tables`, which names the file in every error).

    Blank lines are skipped. InputError naming the file, line and value for
    anything that is not a number in SCALE_LIMITS, or for a file without scales.
    """
    path = os.fspath(path)
    if column is None:
        cells = read_values(path).texts("value")
        hint = " (for a CSV file name its column with --column)"
    else:
        table = read_table(path)
        if column not in table.columns:
            raise InputError(f"{path}: no column {column!r} (columns: {', '.join(table.columns)})")
        cells, hint = table.texts(column), ""
    scales = []
    lo, hi = SCALE_LIMITS
    for line, text in cells:
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{path} line {line}: {text!r} is not a number{hint}") from None
        if not lo <= value <= hi:  # also rejects nan
            raise InputError(f"{path} line {line}: scales must be finite numbers in [{lo:g}, {hi:g}], got {text!r}")
        scales.append(value)
    if not scales:
        raise InputError(f"{path} holds no scales")
    return np.asarray(scales)


class Empirical(ScaleDistribution):
    """Observed scales; density = truncated kernel density estimate on log2 s."""

    name = "empirical"
    bounds: tuple[float, float]

    def __init__(self, scales: ArrayLike, source: str | None = None, column: str | None = None):
        scales = np.asarray(scales, dtype=float).ravel()
        if scales.size == 0 or not np.all(np.isfinite(scales)) or np.any(scales <= 0):
            raise ValueError("empirical scales must be a non-empty set of finite numbers > 0")
        lo, hi = float(scales.min()), float(scales.max())
        if lo == hi:
            raise ValueError(f"empirical scales need at least two distinct values, all are {lo:g}")
        self.scales = scales
        self.source, self.column = source, column
        self.bounds = (lo, hi)
        self._a, self._b = math.log2(lo), math.log2(hi)
        x = np.log2(scales)
        self.bandwidth = float(np.std(x)) * scales.size ** (-1 / 5)
        counts, edges = np.histogram(x, bins=KDE_BINS, range=(self._a, self._b))
        keep = counts > 0
        self._centres = ((edges[:-1] + edges[1:]) / 2)[keep]
        self._weights = counts[keep] / counts.sum()
        from scipy.special import ndtr  # fits only: `tolcli suggest` imports no SciPy

        inside = ndtr((self._b - self._centres) / self.bandwidth) - ndtr((self._a - self._centres) / self.bandwidth)
        self._mass_inside = float(np.dot(self._weights, inside))

    @classmethod
    def from_file(cls, path: str | os.PathLike, column: str | None = None) -> Empirical:
        """Read observed scales (see `read_scales`) into a distribution."""
        scales = read_scales(path, column)
        try:
            return cls(scales, source=os.fspath(path), column=column)
        except ValueError as exc:
            raise ValueError(f"{os.fspath(path)}: {exc}") from None

    def pdf(self, x: ArrayLike) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        z = (x[..., None] - self._centres) / self.bandwidth
        kde = np.exp(-0.5 * z * z) @ self._weights / (self.bandwidth * math.sqrt(2 * math.pi))
        inside = (x >= self._a) & (x <= self._b)
        return np.where(inside, kde / self._mass_inside, 0.0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(self.scales, size=n, replace=True)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "file": self.source,
            "column": self.column,
            "n": int(self.scales.size),
            "lo": self.bounds[0],
            "hi": self.bounds[1],
            "bandwidth_log2": self.bandwidth,
        }
