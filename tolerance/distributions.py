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

from scaletol.checks import InputError, check_choice, check_number

NAMES = ("loguniform", "uniform", "lognormal", "truncnormal", "empirical")
SPREAD_NAMES = ("lognormal", "truncnormal")  # the distributions that take a std

# Limits of what the model is meant for; they bound every fitting grid
# (at most 26.6 octaves of data, see tolerance.grid).
SCALE_LIMITS = (1e-4, 1e4)  # every data scale (range bounds, observations, c_ref): 26.6 octaves
MAX_LOGNORMAL_STD = 3.0  # octaves; the fitting grid spans ± 4 std
MIN_SPREAD = 0.02  # octaves (at the mean for truncnormal): narrower spikes fall between grid points
MAX_DISTRIBUTIONS = 50  # in one command (a combined fit costs about 0.2 s per distribution)

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


def check_scale(name: str, value: Any) -> float:
    """``value`` as a data scale: InputError unless a finite number in SCALE_LIMITS."""
    return check_number(name, value, low=SCALE_LIMITS[0], high=SCALE_LIMITS[1])


def check_scale_range(lo: Any, hi: Any) -> tuple[float, float]:
    """(lo, hi) as floats; InputError naming the value unless both lie in SCALE_LIMITS and lo < hi."""
    for label, value in (("lo", lo), ("hi", hi)):
        if value is None:
            raise InputError(f"range needs both bounds LO HI, {label} is missing")
    lo, hi = check_scale("lo", lo), check_scale("hi", hi)
    if lo >= hi:
        raise InputError(f"range=[{lo:g}, {hi:g}] must have lo < hi")
    return lo, hi


_erfc = np.vectorize(math.erfc, otypes=[float])


def normal_cdf(z: ArrayLike) -> np.ndarray:
    """Standard normal CDF of `z` (a number or an array), accurate in both tails
    (math.erfc: no SciPy on the suggest path)."""
    return 0.5 * _erfc(-np.asarray(z, dtype=float) / math.sqrt(2.0))


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
        limits = [math.log2(limit) for limit in SCALE_LIMITS]
        self.mean = check_number("mean_log2", mean, low=limits[0], high=limits[1])
        self.std = check_number("std", std, low=MIN_SPREAD, high=MAX_LOGNORMAL_STD)
        self.bounds = None

    @classmethod
    def from_range(cls, lo: float, hi: float, std: float | None = None) -> LogNormal:
        """Centred (geometrically) on [lo, hi]; std by default a quarter of its width
        in octaves (at least MIN_SPREAD; a range of at most 4·MAX_LOGNORMAL_STD octaves)."""
        lo, hi = check_scale_range(lo, hi)
        a, b = math.log2(lo), math.log2(hi)
        if std is None and (b - a) / 4 > MAX_LOGNORMAL_STD:
            raise InputError(
                f"range=[{lo:g}, {hi:g}] spans {b - a:.3g} octaves; a lognormal's range (its ±2 std) "
                f"must span at most {4 * MAX_LOGNORMAL_STD:g}"
            )
        return cls((a + b) / 2, max((b - a) / 4, MIN_SPREAD) if std is None else std)

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
    """s ~ Normal(mean, std) in scale units, truncated to [lo, hi].

    mean (default the range's centre) must lie in [lo, hi]; std (default a
    quarter of the range) at least MIN_SPREAD octaves at the mean, i.e.
    MIN_SPREAD·ln 2·mean scale units, and at most SCALE_LIMITS[1].
    """

    name = "truncnormal"
    bounds: tuple[float, float]

    def __init__(self, lo: float, hi: float, mean: float | None = None, std: float | None = None):
        self.bounds = check_scale_range(lo, hi)
        lo, hi = self.bounds
        self.mean = check_number("mean", (lo + hi) / 2 if mean is None else mean, low=lo, high=hi)
        narrowest = float(f"{MIN_SPREAD * LN2 * self.mean:.3g}")
        default = max((hi - lo) / 4, narrowest)
        self.std = check_number("std", default if std is None else std, low=narrowest, high=SCALE_LIMITS[1])
        self._cdf_lo = float(normal_cdf((lo - self.mean) / self.std))
        self._cdf_hi = float(normal_cdf((hi - self.mean) / self.std))
        self._a, self._b = self.log2_extent()

    def pdf(self, x: ArrayLike) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        s = np.exp2(np.clip(x, self._a, self._b))
        z = (s - self.mean) / self.std
        density_s = np.exp(-0.5 * z * z) / (self.std * math.sqrt(2 * math.pi) * (self._cdf_hi - self._cdf_lo))
        inside = (x >= self._a) & (x <= self._b)
        return np.where(inside, density_s * s * LN2, 0.0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        from scipy.special import ndtri  # only samplers need the inverse CDF

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

    lo, hi: scales in SCALE_LIMITS, lo < hi. `std` (lognormal and truncnormal
    only): octaves for lognormal, in [MIN_SPREAD, MAX_LOGNORMAL_STD]; scale
    units for truncnormal, at least MIN_SPREAD octaves at the mean. empirical
    reads `file` (one number per line, or the CSV column `column`) and takes no
    lo/hi. InputError naming the bad value otherwise.
    """
    check_choice("dist", name, NAMES)
    if std is not None and name not in SPREAD_NAMES:
        raise InputError(f"std={std!r} applies to {' and '.join(SPREAD_NAMES)} only, not to {name}")
    if name == "empirical":
        from tolerance.empirical import Empirical

        if file is None:
            raise InputError("dist='empirical' needs a file of observed scales (--file)")
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

    One name applies to every range; otherwise names and ranges pair up in order;
    at most MAX_DISTRIBUTIONS. 'empirical' takes no range. InputError naming the
    mismatch otherwise.
    """
    names, ranges = list(names), [tuple(r) for r in ranges]
    if (file is not None or column is not None) and "empirical" not in names:
        given = file if file is not None else column
        raise InputError(f"{given!r}: --file and --column apply to --dist empirical only")
    if not names:
        raise InputError("no distribution given (use --dist NAME --range LO HI)")
    if std is not None and not set(names) & set(SPREAD_NAMES):
        raise InputError(f"std={std!r} applies to {' and '.join(SPREAD_NAMES)} only, not to {', '.join(names)}")
    if names == ["empirical"] and not ranges:
        return [make_distribution("empirical", file=file, column=column)]
    if "empirical" in names and (len(names) > 1 or ranges):
        raise InputError("'empirical' reads its scales from --file: give it alone, without --range")
    if not ranges:
        raise InputError(f"distribution {names[0]!r} needs a scale range LO HI")
    if len(names) == 1:
        names = names * len(ranges)
    if len(names) != len(ranges):
        raise InputError(f"{len(names)} distributions but {len(ranges)} ranges: give one range per distribution")
    if len(ranges) > MAX_DISTRIBUTIONS:
        raise InputError(f"{len(ranges)} distributions must be at most {MAX_DISTRIBUTIONS}")
    return [
        make_distribution(name, lo, hi, std=std if name in SPREAD_NAMES else None)
        for name, (lo, hi) in zip(names, ranges)
    ]


def distribution_from_dict(d: dict) -> ScaleDistribution:
    """The distribution whose `to_dict()` is `d` (an empirical one reads its file again)."""
    name = check_choice("name", d.get("name"), NAMES)
    if name == "empirical":
        return make_distribution("empirical", file=d["file"], column=d.get("column"))
    if name == "lognormal":
        return LogNormal(d["mean_log2"], d["std_log2"])
    if name == "truncnormal":
        return TruncNormal(d["lo"], d["hi"], mean=d["mean"], std=d["std"])
    return make_distribution(name, d["lo"], d["hi"])
