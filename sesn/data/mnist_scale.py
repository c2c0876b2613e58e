"""MNIST-Scale (thesis App. A.2, after SiCNN/SESN): every digit shrunk once by
a factor uniform in [0.3, 1.0] about the centre of its 28×28 canvas (bicubic,
antialiased, stored as uint8), split stratified by label into
10k / 2k / 50k. Six realisations, seeds 0-5, are the thesis's protocol.

Realisation `seed` fixes the split and the factors through independent NumPy
generators. A realisation is built in memory and cached on disk under a hash
of everything it depends on (the MNIST content, seed, sizes, factor range,
BUILD_VERSION), so the second load only reads the file.

The "+" variant (augment=True) rescales each training image again when its
batch is made, by a factor uniform in [0.5, 2.0] drawn from the loader's
generator; the sample's scale is multiplied by the same factor.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from scaletol.datasets import (
    DATASETS,
    DIGIT_SIZE,
    MNIST_SCALE_AUGMENT,
    MNIST_SCALE_FACTORS,
    MNIST_SCALE_MEAN,
    MNIST_SCALE_STD,
)
from scaletol.files import atomic_write
from sesn.data.base import (
    SPLIT_NAMES,
    RenderedDigits,
    ScaleDataset,
    Splits,
    check_scale,
    check_sizes,
    seeded_generator,
)
from sesn.data.mnist import MNIST, cache_dir
from sesn.data.resample import rescale

BUILD_VERSION = 1  # change whenever the build below would give different tensors

_SPLIT_STREAM = 0
_SCALE_STREAM = 1
_RENDER_CHUNK = 4096  # digits resampled at once


@dataclass(frozen=True, eq=False)
class StoredScaleImages(ScaleDataset):
    """MNIST-Scale digits as stored (uint8 28×28, already rescaled), with the
    original digits kept for at_scale()."""

    images: torch.Tensor  # uint8 [N, 28, 28], rescaled by `scales`
    digits: torch.Tensor  # uint8 [N, 28, 28], the original digits
    labels: torch.Tensor
    scales: torch.Tensor
    augment: tuple[float, float] | None = None  # factor range of the "+" rescaling
    mean: float = MNIST_SCALE_MEAN
    std: float = MNIST_SCALE_STD

    @property
    def image_size(self) -> int:
        return DIGIT_SIZE

    @property
    def stored_images(self) -> torch.Tensor:
        return self.images

    def pixels(self, index, rng):
        images = self.images[index].float() / 255
        scales = self.scales[index]
        if self.augment is not None:
            factors = torch.from_numpy(rng.uniform(*self.augment, size=len(index))).to(scales)
            images = rescale(images, factors, DIGIT_SIZE)
            scales = scales * factors
        return images, scales

    def at_scale(self, scale: float) -> RenderedDigits:
        """The original digits, all rescaled by `scale` on the 28×28 canvas."""
        return RenderedDigits(
            digits=self.digits,
            labels=self.labels,
            canvas=DIGIT_SIZE,
            mean=self.mean,
            std=self.std,
            scales=torch.full_like(self.scales, check_scale(scale)),
        )


def build_mnist_scale(
    mnist: MNIST, *, seed: int = 0, sizes=DATASETS["mnist-scale"].sizes, augment: bool = False
) -> Splits:
    """MNIST-Scale realisation `seed`, loaded from the cache or built and cached."""
    sizes = check_sizes(sizes, len(mnist))
    path = cache_path(mnist, seed, sizes)
    stored = _read_cache(path, sum(sizes))
    if stored is None:
        stored = render_realisation(mnist, seed=seed, sizes=sizes)
        atomic_write(path, lambda tmp: torch.save(stored, tmp))
    bounds = np.cumsum((0,) + sizes)
    splits = {}
    for number, name in enumerate(SPLIT_NAMES):
        part = slice(bounds[number], bounds[number + 1])
        source = stored["source"][part]
        splits[name] = StoredScaleImages(
            images=stored["images"][part],
            digits=mnist.images[source],
            labels=mnist.labels[source],
            scales=stored["scales"][part],
            augment=MNIST_SCALE_AUGMENT if augment and name == "train" else None,
        )
    return Splits(**splits)


def render_realisation(mnist: MNIST, *, seed: int, sizes: tuple[int, int, int]) -> dict[str, torch.Tensor]:
    """The tensors of one realisation, splits concatenated (train, val, test):
    source int64 [M] (index into `mnist`), scales float32 [M], images uint8
    [M, 28, 28]; M = sum(sizes)."""
    order = stratified_order(mnist.labels.numpy(), seeded_generator(seed, _SPLIT_STREAM))[: sum(sizes)]
    factors = seeded_generator(seed, _SCALE_STREAM).uniform(*MNIST_SCALE_FACTORS, size=len(order))
    scales = torch.from_numpy(factors).float()
    source = torch.from_numpy(order)
    images = torch.empty((len(source), DIGIT_SIZE, DIGIT_SIZE), dtype=torch.uint8)
    for start in range(0, len(source), _RENDER_CHUNK):
        chunk = slice(start, start + _RENDER_CHUNK)
        rendered = rescale(mnist.images[source[chunk]].float() / 255, scales[chunk], DIGIT_SIZE)
        images[chunk] = (rendered * 255).round().clamp(0, 255).to(torch.uint8)
    return {"source": source, "scales": scales, "images": images}


def stratified_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of all samples in which every prefix holds each label in
    (nearly) its overall proportion, so consecutive cuts are stratified splits.

    Each class is shuffled and its members are spread evenly over [0, 1]
    (member r of n at (r + 0.5) / n); sorting by that position interleaves the
    classes. A prefix of length L then holds L·p_c ± 1 samples of class c.
    """
    shuffled = rng.permutation(len(labels))
    by_class = shuffled[np.argsort(labels[shuffled], kind="stable")]
    _, first, counts = np.unique(labels[by_class], return_index=True, return_counts=True)
    rank = np.arange(len(labels)) - np.repeat(first, counts)
    position = (rank + 0.5) / np.repeat(counts, counts)
    return by_class[np.argsort(position, kind="stable")]


def cache_path(mnist: MNIST, seed: int, sizes: tuple[int, int, int]) -> Path:
    """Cache file of a realisation, named by a hash of all it depends on."""
    recipe = {
        "dataset": "mnist-scale",
        "version": BUILD_VERSION,
        "mnist": mnist.fingerprint,
        "seed": int(seed),
        "sizes": list(sizes),
        "scale_range": list(MNIST_SCALE_FACTORS),
    }
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
    return cache_dir() / "mnist-scale" / f"{key[:32]}.pt"


def _read_cache(path: Path, count: int) -> dict[str, torch.Tensor] | None:
    """The cached tensors, or None when the file is absent, unreadable or not
    of `count` samples (it is then rebuilt)."""
    try:
        stored = torch.load(path, weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError):
        return None
    if not isinstance(stored, dict) or any(len(stored.get(k, ())) != count for k in ("source", "scales", "images")):
        return None
    return stored
