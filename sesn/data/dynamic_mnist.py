"""Dynamic Scale MNIST (thesis App. A.1): MNIST digits on a 168×168 canvas,
each at its own data scale, drawn once per split from a scale distribution and
applied on the fly by bicubic resampling when a batch is made.

Realisation `seed` fixes everything, through independent NumPy generators:
- the split: a random permutation of the pooled digits, cut into
  (train, val, test) = 10k / 5k / 50k by default;
- the scales: one per sample from `dist`, a generator per split. Training
  uses only scales ≥ 1 (the thesis avoids the information lost when
  shrinking): training draws below 1 are redrawn until none is left, which
  samples `dist` conditioned on s ≥ 1. Validation and test keep all draws.
- the normalisation: mean and std of the training split's pixels (values in
  [0, 1], all 168×168 pixels, at the drawn scales), shared by every split
  and by at_scale().
"""

from __future__ import annotations

import numpy as np
import torch

from scaletol.checks import InputError
from scaletol.datasets import DATASETS, TRAIN_MIN_SCALE
from sesn.data.base import SPLIT_NAMES, RenderedDigits, Splits, check_sizes, seeded_generator
from sesn.data.mnist import MNIST
from sesn.data.resample import rescale

CANVAS = DATASETS["dynamic-mnist"].canvas
MAX_REDRAWS = 1000  # rounds of redrawing training scales below TRAIN_MIN_SCALE

_SPLIT_STREAM = 0
_SCALE_STREAM = 1
_STATISTICS_CHUNK = 128  # digits rendered at once when measuring mean and std (small stays in cache)


def build_dynamic_mnist(mnist: MNIST, dist, *, seed: int = 0, sizes=DATASETS["dynamic-mnist"].sizes) -> Splits:
    """The Dynamic Scale MNIST realisation `seed` with scales from `dist` (a
    tolerance ScaleDistribution). Splits hold RenderedDigits on a 168 px canvas."""
    sizes = check_sizes(sizes, len(mnist))
    order = seeded_generator(seed, _SPLIT_STREAM).permutation(len(mnist))
    bounds = np.cumsum((0,) + sizes)
    parts = {}
    for number, name in enumerate(SPLIT_NAMES):
        index = torch.from_numpy(order[bounds[number] : bounds[number + 1]])
        rng = seeded_generator(seed, _SCALE_STREAM, number)
        minimum = TRAIN_MIN_SCALE if name == "train" else None
        scales = torch.from_numpy(draw_scales(dist, len(index), rng, minimum=minimum)).float()
        parts[name] = (mnist.images[index], mnist.labels[index], scales)
    mean, std = pixel_statistics(parts["train"][0], parts["train"][2], CANVAS)
    return Splits(
        **{
            name: RenderedDigits(digits=digits, labels=labels, scales=scales, canvas=CANVAS, mean=mean, std=std)
            for name, (digits, labels, scales) in parts.items()
        }
    )


def draw_scales(dist, n: int, rng: np.random.Generator, *, minimum: float | None = None) -> np.ndarray:
    """n scales from `dist`; with `minimum`, draws below it are redrawn (so the
    result follows `dist` conditioned on s ≥ minimum). float64 [n]."""
    if minimum is not None and dist.bounds is not None and dist.bounds[1] < minimum:
        raise InputError(f"{dist.name} scales lie in {list(dist.bounds)}, but training needs scales >= {minimum}")
    scales = np.asarray(dist.sample(n, rng), dtype=np.float64)
    if minimum is None:
        return scales
    low = np.flatnonzero(scales < minimum)
    for _ in range(MAX_REDRAWS):
        if low.size == 0:
            return scales
        scales[low] = dist.sample(low.size, rng)
        low = low[scales[low] < minimum]
    raise InputError(f"{dist.name} puts too little probability on scales >= {minimum} for training")


def pixel_statistics(digits: torch.Tensor, scales: torch.Tensor, canvas: int) -> tuple[float, float]:
    """Mean and std of all pixel values (in [0, 1]) of `digits` (uint8 [N, 28, 28])
    drawn at `scales` on a canvas × canvas image."""
    total = torch.zeros((), dtype=torch.float64)
    squares = torch.zeros((), dtype=torch.float64)
    for start in range(0, len(digits), _STATISTICS_CHUNK):
        chunk = slice(start, start + _STATISTICS_CHUNK)
        images = rescale(digits[chunk].float() / 255, scales[chunk], canvas)
        total += images.sum((1, 2)).double().sum()
        squares += images.square().sum((1, 2)).double().sum()
    count = len(digits) * canvas * canvas
    mean = total.item() / count
    variance = squares.item() / count - mean**2
    if not variance > 0:
        raise InputError("the training digits are blank: cannot normalise them")
    return mean, variance**0.5
