"""Empirical scale distributions: observed object scales, smoothed on the log2 axis.

Density estimate on x = log2(s), from n observations:

- **Bandwidth** h: Silverman's rule of thumb, h = 0.9 · min(std, IQR/1.349) · n^(-1/5)
  octaves (std with ddof 1; the IQR term only when it is > 0).
- **Which ends are bounds.** Data may stop at a hard limit (a dataset made of
  scales in [1, 8], a detector's smallest box) or thin out in a tail (sizes of
  natural objects, a log-normal). The k = min(round(2√n), (n-1)//2) spacings
  D_1..D_k between the outermost observations tell them apart (Rényi's
  representation of order statistics): near a bound where the density is
  positive they are independent exponentials of one mean, in a normal- or
  exponential-like tail the weighted spacings i·D_i are. An end is *open* when
  the second model has the higher maximum likelihood, log k! > k·log(mean(i·D_i)/mean(D_i)),
  and *bounded* otherwise (also when all k spacings are 0: a pile of equal
  values is a hard limit). Both models have one parameter, so the comparison
  is fair. At n = 20 it is right for 55-90 % of the ends of log-uniform and
  log-normal samples, from n ≈ 2000 on almost always; the low, steep ends of a
  truncated normal need more (README, "Observed scales").
- **A bounded end** is placed one mean spacing mean(D_i) beyond the outermost
  observation, the expected gap between a bound and the nearest of n points;
  there the estimate is the local-linear boundary-corrected kernel estimate
  (Jones 1993), whose bias at a bound is O(h²) like inside, instead of a plain
  kernel estimate that falls to half height at the bound. So the padding
  (tolerance.padding) starts at the density's true height, as for a parametric
  distribution with that bound.
- **An open end** keeps the plain Gaussian-kernel tail, cut KERNEL_REACH = 6
  bandwidths past the outermost observation (where a kernel is 1.5e-8 of its
  peak) and set to exactly 0 there, so it gets no padding, like a log-normal.

The estimate is tabulated once (linear binning onto a grid of h/8 steps, then
two convolutions), clipped at 0 and renormalised to integrate to 1 on its
support; `pdf` interpolates the table, so large files stay fast.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numpy.typing import ArrayLike

from scaletol.checks import InputError
from scaletol.tables import read_table, read_values
from tolerance.distributions import SCALE_LIMITS, ScaleDistribution, normal_cdf

BANDWIDTH_FACTOR = 0.9  # Silverman's rule of thumb
IQR_PER_STD = 1.349  # interquartile range of a unit normal
KERNEL_REACH = 6.0  # bandwidths; the Gaussian kernel is cut there (exp(-18) ≈ 1.5e-8 of its peak)
TABLE_STEP = 0.125  # bandwidths between the points of the tabulated density
MAX_TABLE_POINTS = 65537
_SQRT_2PI = math.sqrt(2 * math.pi)


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


def silverman_bandwidth(x: np.ndarray) -> float:
    """Silverman's rule-of-thumb bandwidth of the values `x` (same units), shape [n], n >= 2."""
    spread = float(np.std(x, ddof=1))
    q75, q25 = np.percentile(x, [75, 25])
    iqr_spread = float(q75 - q25) / IQR_PER_STD
    if 0 < iqr_spread < spread:
        spread = iqr_spread
    return BANDWIDTH_FACTOR * spread * x.size ** (-1 / 5)


def outer_spacings(offsets: np.ndarray) -> np.ndarray:
    """The k spacings between the outermost of n values, outermost first.

    offsets: distances of the values from the extreme one, sorted ascending
    (offsets[0] = 0), shape [n]; k = min(round(2√n), (n-1)//2), at least 1.
    """
    n = offsets.size
    k = max(1, min(round(2 * math.sqrt(n)), (n - 1) // 2))
    return np.diff(offsets[: k + 1])


def is_open_end(spacings: np.ndarray) -> bool:
    """True when the outermost spacings D_1..D_k look like a tail, not a bound.

    Compares the maximum log-likelihoods of "D_i i.i.d. exponential" (a bound
    with positive density) and "i·D_i i.i.d. exponential" (a tail).
    """
    k = spacings.size
    mean = float(spacings.mean())
    if mean == 0:
        return False
    weighted = float((np.arange(1, k + 1) * spacings).mean())
    return math.lgamma(k + 1) > k * math.log(weighted / mean)


def _normal_pdf(u: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * u * u) / _SQRT_2PI


class Empirical(ScaleDistribution):
    """Observed scales; density = boundary-corrected kernel estimate on log2 s (module docstring).

    scales: observations (> 0, at least two distinct), any shape;
    open_ends: (lower, upper), True for a tail and False for a bound; None
    decides both from the data (`is_open_end`). `observed` is the (min, max)
    of the observations, `bounds` the support of the estimate, `bandwidth`
    its h in octaves; `pdf` interpolates linearly between the tabulated
    density `table_pdf` at the points `table_x` (log2 s, shape [m]).
    """

    name = "empirical"
    bounds: tuple[float, float]

    def __init__(
        self,
        scales: ArrayLike,
        source: str | None = None,
        column: str | None = None,
        *,
        open_ends: tuple[bool, bool] | None = None,
    ):
        scales = np.asarray(scales, dtype=float).ravel()
        if scales.size == 0 or not np.all(np.isfinite(scales)) or np.any(scales <= 0):
            raise InputError("empirical scales must be a non-empty set of finite numbers > 0")
        x = np.sort(np.log2(scales))
        if x[0] == x[-1]:
            raise InputError(f"empirical scales need at least two distinct values, all are {scales[0]:g}")
        self.scales = scales
        self.source, self.column = source, column
        self.observed = (float(scales.min()), float(scales.max()))
        self.bandwidth = silverman_bandwidth(x)
        lower, upper = outer_spacings(x - x[0]), outer_spacings((x[-1] - x)[::-1])
        if open_ends is None:
            open_ends = (is_open_end(lower), is_open_end(upper))
        self.open_ends = (bool(open_ends[0]), bool(open_ends[1]))
        reach = KERNEL_REACH * self.bandwidth
        lo = x[0] - (reach if self.open_ends[0] else float(lower.mean()))
        hi = x[-1] + (reach if self.open_ends[1] else float(upper.mean()))
        self.bounds = (2.0**lo, 2.0**hi)
        # the padding evaluates the density at log2(bounds): use exactly those values
        self._a, self._b = self.log2_extent()
        self.table_x, self.table_pdf = self._tabulate(x)

    def _tabulate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The density at the points of a uniform grid over the support, both shape [m]."""
        a, b, h = self._a, self._b, self.bandwidth
        m = min(MAX_TABLE_POINTS, math.ceil((b - a) / (TABLE_STEP * h)) + 1)
        grid = np.linspace(a, b, m)
        step = grid[1] - grid[0]
        # linear binning: each observation shares its weight 1/n between its two grid neighbours
        position = np.clip((x - a) / step, 0, m - 1)
        left = np.minimum(position.astype(int), m - 2)
        right_share = position - left
        weights = (np.bincount(left, 1 - right_share, m) + np.bincount(left + 1, right_share, m)) / x.size
        taps = math.ceil(KERNEL_REACH * h / step)
        u = np.arange(-taps, taps + 1) * step / h
        kernel = _normal_pdf(u)
        moment0 = np.convolve(weights, kernel)[taps : taps + m]  # Σ w K(u)
        moment1 = np.convolve(weights, u * kernel)[taps : taps + m]  # Σ w u K(u), u = (grid - x)/h
        density = self._boundary_correct(grid, moment0, moment1)
        density = np.maximum(density, 0.0)
        if self.open_ends[0]:
            density[0] = 0.0
        if self.open_ends[1]:
            density[-1] = 0.0
        return grid, density / np.trapezoid(density, grid)

    def _boundary_correct(self, grid: np.ndarray, moment0: np.ndarray, moment1: np.ndarray) -> np.ndarray:
        """Local-linear kernel estimate: (a2·Σ w K - a1·Σ w u K) / ((a0·a2 - a1²)·h).

        a_l = ∫ u^l K(u) du over the part of the kernel that lies inside the
        bounded ends; far from a bound (a0, a1, a2) = (1, 0, 1), the plain estimate.
        """
        h = self.bandwidth
        a0, a1, a2 = np.ones_like(grid), np.zeros_like(grid), np.ones_like(grid)
        p = np.full_like(grid, np.inf) if self.open_ends[0] else (grid - self._a) / h
        q = np.full_like(grid, np.inf) if self.open_ends[1] else (self._b - grid) / h
        near = (p < KERNEL_REACH) | (q < KERNEL_REACH)
        p, q = np.minimum(p[near], 2 * KERNEL_REACH), np.minimum(q[near], 2 * KERNEL_REACH)
        a0[near] = normal_cdf(p) - normal_cdf(-q)
        a1[near] = _normal_pdf(q) - _normal_pdf(p)
        a2[near] = a0[near] - p * _normal_pdf(p) - q * _normal_pdf(q)
        return (a2 * moment0 - a1 * moment1) / ((a0 * a2 - a1 * a1) * h)

    @classmethod
    def from_file(cls, path: str | os.PathLike, column: str | None = None) -> Empirical:
        """Read observed scales (see `read_scales`) into a distribution."""
        scales = read_scales(path, column)
        try:
            return cls(scales, source=os.fspath(path), column=column)
        except InputError as exc:
            raise InputError(f"{os.fspath(path)}: {exc}") from None

    def resampled(self, rng: np.random.Generator) -> Empirical:
        """The same estimator on a bootstrap resample (n draws with replacement).

        Keeps this sample's decision on which ends are open: ties in a resample
        would make every end look bounded. A resample of one repeated value (no
        distribution; likely only for a handful of observations) is drawn again.
        """
        while True:
            scales = self.sample(self.scales.size, rng)
            if scales.min() < scales.max():
                return Empirical(scales, open_ends=self.open_ends)

    def pdf(self, x: ArrayLike) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        inside = (x >= self._a) & (x <= self._b)
        return np.where(inside, np.interp(x, self.table_x, self.table_pdf), 0.0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(self.scales, size=n, replace=True)

    def ends(self) -> tuple[str, str]:
        """("bounded" | "open") for the lower and the upper end."""
        lower, upper = ("open" if is_open else "bounded" for is_open in self.open_ends)
        return lower, upper

    def summary(self) -> str:
        """One line: how many observations, their extent, how each end is treated, the bandwidth."""
        lower, upper = self.ends()
        return (
            f"empirical: {self.scales.size} observations, scales {self.observed[0]:.4g} to {self.observed[1]:.4g}; "
            f"lower end {lower}, upper end {upper} (support {self.bounds[0]:.4g} to {self.bounds[1]:.4g}); "
            f"bandwidth {self.bandwidth:.3g} octaves"
        )

    def to_dict(self) -> dict:
        lower, upper = self.ends()
        return {
            "name": self.name,
            "file": self.source,
            "column": self.column,
            "n": int(self.scales.size),
            "lo": self.observed[0],
            "hi": self.observed[1],
            "support": [float(b) for b in self.bounds],
            "ends": {"lower": lower, "upper": upper},
            "bandwidth_log2": self.bandwidth,
        }
