"""Data scale distributions, each described by its density on x = log2(s).

A data scale s is a magnification factor (> 0; 1 = the reference size). Every
distribution exposes `pdf(x)` on the log2 axis (integrating to 1 over x, no
padding), `sample(n, rng)` in scale units, `bounds` (scale units, or None when
the support is unbounded) and `to_dict()`. `make_distribution` builds one by name.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr, ndtri

NAMES = ("loguniform", "uniform", "lognormal", "truncnormal", "empirical")

LN2 = math.log(2.0)
# The mass of a log-normal lies within this many standard deviations of its mean
# for all practical purposes (1 - 6e-5); used to place fitting grids.
LOGNORMAL_EXTENT_STDS = 4.0


class ScaleDistribution:
    """Base class: a distribution of data scales s > 0, seen on x = log2(s)."""

    name: str = ""
    bounds: tuple[float, float] | None = None

    def pdf(self, x: ArrayLike) -> np.ndarray:
        """Density on x = log2(s) [1/octave]; same shape as `x`."""
        raise NotImplementedError

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` scales s (> 0, scale units), deterministic given `rng`."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """Name and parameters, JSON-serialisable."""
        raise NotImplementedError

    def log2_extent(self) -> tuple[float, float]:
        """Interval on x = log2(s) that holds the distribution's mass (octaves)."""
        if self.bounds is None:
            raise NotImplementedError(f"{type(self).__name__} is unbounded and must define its extent")
        lo, hi = self.bounds
        return math.log2(lo), math.log2(hi)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "name")
        return f"{type(self).__name__}({params})"


def check_scale_range(lo: Any, hi: Any) -> tuple[float, float]:
    """Return (lo, hi) as floats; ValueError naming the value unless 0 < lo < hi < inf."""
    for label, value in (("lo", lo), ("hi", hi)):
        if value is None:
            raise ValueError(f"scale range needs both bounds, {label} is missing")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"scale range {label} must be a number, got {value!r}") from None
        if not math.isfinite(number) or number <= 0:
            raise ValueError(f"scale range {label} must be a finite number > 0, got {value!r}")
    lo, hi = float(lo), float(hi)
    if lo >= hi:
        raise ValueError(f"scale range must have lo < hi, got [{lo:g}, {hi:g}]")
    return lo, hi


def check_positive(label: str, value: Any) -> float:
    """Return `value` as a float; ValueError naming it unless finite and > 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{label} must be a finite number > 0, got {value!r}")
    return number


class LogUniform(ScaleDistribution):
    """log2(s) uniform on [log2 lo, log2 hi]."""

    name = "loguniform"
    bounds: tuple[float, float]

    def __init__(self, lo: float, hi: float):
        self.bounds = check_scale_range(lo, hi)
        self._a, self._b = self.log2_extent()

    def pdf(self, x: ArrayLike) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        inside = (x >= self._a) & (x <= self._b)
        return np.where(inside, 1.0 / (self._b - self._a), 0.0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.exp2(rng.uniform(self._a, self._b, size=n))

    def to_dict(self) -> dict:
        return {"name": self.name, "lo": self.bounds[0], "hi": self.bounds[1]}


class Uniform(ScaleDistribution):
    """s uniform on [lo, hi] (not uniform in log2 s: its log2-density grows as s)."""

    name = "uniform"
    bounds: tuple[float, float]

    def __init__(self, lo: float, hi: float):
        self.bounds = check_scale_range(lo, hi)
        self._a, self._b = self.log2_extent()

    def pdf(self, x: ArrayLike) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        lo, hi = self.bounds
        inside = (x >= self._a) & (x <= self._b)
        # p(x) = p_s(s) |ds/dx| with s = 2^x, ds/dx = s ln 2
        return np.where(inside, np.exp2(np.clip(x, self._a, self._b)) * LN2 / (hi - lo), 0.0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(*self.bounds, size=n)

    def to_dict(self) -> dict:
        return {"name": self.name, "lo": self.bounds[0], "hi": self.bounds[1]}


class LogNormal(ScaleDistribution):
    """log2(s) ~ Normal(mean, std), both in octaves; unbounded."""

    name = "lognormal"

    def __init__(self, mean: float, std: float):
        if not math.isfinite(float(mean)):
            raise ValueError(f"lognormal mean must be finite, got {mean!r}")
        self.mean = float(mean)
        self.std = check_positive("lognormal std [octaves]", std)
        self.bounds = None

    @classmethod
    def from_range(cls, lo: float, hi: float, std: float | None = None) -> LogNormal:
        """Centred (geometrically) on [lo, hi]; std a quarter of its width in octaves."""
        lo, hi = check_scale_range(lo, hi)
        a, b = math.log2(lo), math.log2(hi)
        return cls((a + b) / 2, (b - a) / 4 if std is None else std)

    def pdf(self, x: ArrayLike) -> np.ndarray:
        z = (np.asarray(x, dtype=float) - self.mean) / self.std
        return np.exp(-0.5 * z * z) / (self.std * math.sqrt(2 * math.pi))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.exp2(rng.normal(self.mean, self.std, size=n))

    def log2_extent(self) -> tuple[float, float]:
        half = LOGNORMAL_EXTENT_STDS * self.std
        return self.mean - half, self.mean + half

    def to_dict(self) -> dict:
        return {"name": self.name, "mean_log2": self.mean, "std_log2": self.std}


class TruncNormal(ScaleDistribution):
    """s ~ Normal(mean, std) in scale units, truncated to [lo, hi]."""

    name = "truncnormal"
    bounds: tuple[float, float]

    def __init__(self, lo: float, hi: float, mean: float | None = None, std: float | None = None):
        self.bounds = check_scale_range(lo, hi)
        lo, hi = self.bounds
        self.mean = (lo + hi) / 2 if mean is None else float(mean)
        if not math.isfinite(self.mean):
            raise ValueError(f"truncnormal mean must be finite, got {mean!r}")
        self.std = check_positive("truncnormal std [scale units]", (hi - lo) / 4 if std is None else std)
        self._cdf_lo = float(ndtr((lo - self.mean) / self.std))
        self._cdf_hi = float(ndtr((hi - self.mean) / self.std))
        if self._cdf_hi - self._cdf_lo <= 0:
            raise ValueError(
                f"truncnormal with mean {self.mean:g} and std {self.std:g} has no mass on [{lo:g}, {hi:g}]"
            )
        self._a, self._b = self.log2_extent()

    def pdf(self, x: ArrayLike) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        s = np.exp2(np.clip(x, self._a, self._b))
        z = (s - self.mean) / self.std
        density_s = np.exp(-0.5 * z * z) / (self.std * math.sqrt(2 * math.pi) * (self._cdf_hi - self._cdf_lo))
        inside = (x >= self._a) & (x <= self._b)
        return np.where(inside, density_s * s * LN2, 0.0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        u = rng.uniform(self._cdf_lo, self._cdf_hi, size=n)
        return np.clip(self.mean + self.std * ndtri(u), *self.bounds)

    def to_dict(self) -> dict:
        lo, hi = self.bounds
        return {"name": self.name, "lo": lo, "hi": hi, "mean": self.mean, "std": self.std}


def make_distribution(
    name: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    std: float | None = None,
    file: str | os.PathLike | None = None,
    column: str | None = None,
) -> ScaleDistribution:
    """Build a distribution by name (one of NAMES).

    lo, hi: scales (> 0, lo < hi). `std`: octaves for lognormal, scale units for
    truncnormal. empirical reads `file` (one number per line, or the CSV column
    `column`) and ignores lo/hi. ValueError naming the bad value otherwise.
    """
    if name not in NAMES:
        raise ValueError(f"unknown distribution {name!r}; choose one of {', '.join(NAMES)}")
    if name == "empirical":
        from tolerance.empirical import Empirical

        if file is None:
            raise ValueError("distribution 'empirical' needs a file of observed scales")
        return Empirical.from_file(file, column=column)
    lo, hi = check_scale_range(lo, hi)
    if name == "loguniform":
        return LogUniform(lo, hi)
    if name == "uniform":
        return Uniform(lo, hi)
    if name == "lognormal":
        return LogNormal.from_range(lo, hi, std=std)
    return TruncNormal(lo, hi, std=std)


def make_distributions(
    names: Iterable[str],
    ranges: Iterable[Sequence[float]],
    *,
    std: float | None = None,
    file: str | os.PathLike | None = None,
    column: str | None = None,
) -> list[ScaleDistribution]:
    """Pair distribution names with (lo, hi) ranges, as the command line does.

    One name applies to every range; otherwise names and ranges pair up in order.
    'empirical' takes no range. ValueError naming the mismatch otherwise.
    """
    names, ranges = list(names), [tuple(r) for r in ranges]
    if (file is not None or column is not None) and "empirical" not in names:
        given = file if file is not None else column
        raise ValueError(f"{given!r}: --file and --column apply to --dist empirical only")
    if not names:
        raise ValueError("no distribution given (use --dist NAME --range LO HI)")
    if names == ["empirical"] and not ranges:
        return [make_distribution("empirical", file=file, column=column)]
    if "empirical" in names and (len(names) > 1 or ranges):
        raise ValueError("'empirical' reads its scales from --file: give it alone, without --range")
    if not ranges:
        raise ValueError(f"distribution {names[0]!r} needs a scale range LO HI")
    if len(names) == 1:
        names = names * len(ranges)
    if len(names) != len(ranges):
        raise ValueError(f"{len(names)} distributions but {len(ranges)} ranges: give one range per distribution")
    return [make_distribution(name, lo, hi, std=std) for name, (lo, hi) in zip(names, ranges)]
