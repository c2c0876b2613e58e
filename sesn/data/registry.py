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

from scaletol.checks import InputError, check_positive, check_range, fail
from scaletol.datasets import DATASETS, EVAL_PER_OCTAVE, NAMES, dataset_info
from sesn.data.base import BatchLoader, ScaleDataset, Splits
from sesn.data.dynamic_mnist import build_dynamic_mnist
from sesn.data.mnist import MNIST
from sesn.data.mnist_scale import build_mnist_scale

__all__ = ["NAMES", "BatchLoader", "ScaleDataset", "Splits", "build_dataset", "evaluation_grid"]

GRID_RANGE = DATASETS["dynamic-mnist"].eval_range


def build_dataset(name: str, *, mnist: MNIST, seed: int = 0, dist=None, sizes=None, augment: bool = False) -> Splits:
    """Realisation `seed` of dataset `name`.

    dynamic-mnist: needs `dist` (a tolerance ScaleDistribution); no
    augmentation. mnist-scale: its scale distribution is fixed (no `dist`);
    augment=True is the "+" variant. Sizes default to the catalog's
    (`scaletol.datasets`).
    """
    info = dataset_info(name)
    sizes = sizes or info.sizes
    if name == "dynamic-mnist":
        if dist is None:
            raise InputError("dynamic-mnist needs a scale distribution (dist)")
        if augment:
            raise fail("augment", augment, "False on dynamic-mnist (the '+' variant exists only for mnist-scale)")
        return build_dynamic_mnist(mnist, dist, seed=seed, sizes=sizes)
    if dist is not None:
        lo, hi = info.range
        raise InputError(f"{name} has its own scale distribution ({info.dist} {lo:g}-{hi:g}); drop dist")
    return build_mnist_scale(mnist, seed=seed, sizes=sizes, augment=augment)


def evaluation_grid(
    lo: float = GRID_RANGE[0], hi: float = GRID_RANGE[1], per_octave: float = EVAL_PER_OCTAVE
) -> np.ndarray:
    """Data scales log-spaced from `lo` to `hi` (both included), `per_octave`
    steps per octave (rounded to a whole number of steps). float64 [n]."""
    lo, hi = check_range("eval_range", (lo, hi))
    per_octave = check_positive("per_octave", per_octave)
    steps = max(1, round(math.log2(hi / lo) * per_octave))
    return np.exp2(np.linspace(math.log2(lo), math.log2(hi), steps + 1))
