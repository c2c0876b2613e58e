"""The thesis's datasets by name, and the grid of data scales for per-scale
evaluation.

    mnist = load_mnist()                     # $SCALETOL_DATA
    splits = build_dataset("dynamic-mnist", mnist=mnist, seed=0,
                           dist=make_distribution("loguniform", 1, 8))
    for x, y, s in splits.train.loader(128, shuffle=True, device="cuda"):
        ...                                  # x [128, 1, 168, 168], y [128], s [128]
    for scale in evaluation_grid():          # 45 scales, 2^-0.5 .. 2^3.5
        test_at_scale = splits.test.at_scale(scale).loader(512)
"""

from __future__ import annotations

import math

import numpy as np

from sesn.data.base import BatchLoader, ScaleDataset, Splits
from sesn.data.dynamic_mnist import DEFAULT_SIZES as DYNAMIC_MNIST_SIZES
from sesn.data.dynamic_mnist import build_dynamic_mnist
from sesn.data.mnist import MNIST
from sesn.data.mnist_scale import DEFAULT_SIZES as MNIST_SCALE_SIZES
from sesn.data.mnist_scale import build_mnist_scale

__all__ = ["NAMES", "BatchLoader", "ScaleDataset", "Splits", "build_dataset", "evaluation_grid"]

NAMES = ("dynamic-mnist", "mnist-scale")
GRID_RANGE = (2**-0.5, 2**3.5)
GRID_PER_OCTAVE = 11  # 4 octaves × 11 steps + 1 = the thesis's 45 scales


def build_dataset(name: str, *, mnist: MNIST, seed: int = 0, dist=None, sizes=None, augment: bool = False) -> Splits:
    """Realisation `seed` of dataset `name`.

    dynamic-mnist: needs `dist` (a tolerance ScaleDistribution); sizes default
    (10000, 5000, 50000); no augmentation.
    mnist-scale: its scale distribution is fixed (no `dist`); sizes default
    (10000, 2000, 50000); augment=True is the "+" variant.
    """
    if name == "dynamic-mnist":
        if dist is None:
            raise ValueError("dynamic-mnist needs a scale distribution (dist)")
        if augment:
            raise ValueError("augment (the '+' variant) exists only for mnist-scale")
        return build_dynamic_mnist(mnist, dist, seed=seed, sizes=sizes or DYNAMIC_MNIST_SIZES)
    if name == "mnist-scale":
        if dist is not None:
            raise ValueError("mnist-scale has its own scale distribution (uniform 0.3-1.0); drop dist")
        return build_mnist_scale(mnist, seed=seed, sizes=sizes or MNIST_SCALE_SIZES, augment=augment)
    raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")


def evaluation_grid(
    lo: float = GRID_RANGE[0], hi: float = GRID_RANGE[1], per_octave: float = GRID_PER_OCTAVE
) -> np.ndarray:
    """Data scales log-spaced from `lo` to `hi` (both included), `per_octave`
    steps per octave (rounded to a whole number of steps). float64 [n]."""
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"evaluation scales need 0 < lo < hi, got lo={lo}, hi={hi}")
    if not (math.isfinite(per_octave) and per_octave > 0):
        raise ValueError(f"per_octave must be > 0, got {per_octave}")
    steps = max(1, round(math.log2(hi / lo) * per_octave))
    return np.exp2(np.linspace(math.log2(lo), math.log2(hi), steps + 1))
