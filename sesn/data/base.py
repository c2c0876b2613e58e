"""What every dataset split of scaletol offers: digits with labels and data
scales, served as whole normalised batches on a chosen device.

A split is a ScaleDataset; its loader() yields (x, y, s) batches built by
tensor operations only (no per-sample Python), and at_scale() gives the same
digits all at one data scale for per-scale evaluation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from scaletol.checks import InputError, check_int, check_positive, fail
from sesn.data.resample import rescale

SPLIT_NAMES = ("train", "val", "test")

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class ScaleDataset(ABC):
    """One split: N digits, each with a label and a data scale.

    Concrete splits are frozen dataclasses holding labels (int64 [N]), scales
    (float32 [N], magnification factors), the normalisation constants mean and
    std (applied to pixel values in [0, 1]) and their stored images.
    """

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]
    labels: torch.Tensor
    scales: torch.Tensor
    mean: float
    std: float

    def __len__(self) -> int:
        return len(self.labels)

    @property
    @abstractmethod
    def image_size(self) -> int:
        """Height = width of the images served, pixels."""

    @property
    @abstractmethod
    def stored_images(self) -> torch.Tensor:
        """The uint8 [N, h, w] images this split keeps in memory."""

    @abstractmethod
    def pixels(self, index: torch.Tensor, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Images float32 [B, H, W] in [0, 1]-ish (bicubic may overshoot) and
        their scales float32 [B] for the samples `index` (int64 [B], on the
        split's device); `rng` drives any random augmentation."""

    @abstractmethod
    def at_scale(self, scale: float) -> ScaleDataset:
        """The same digits, every one shown at data scale `scale`."""

    def batch(self, index: torch.Tensor, rng: np.random.Generator) -> Batch:
        """(x float32 [B, 1, H, W] normalised, y int64 [B], s float32 [B])."""
        images, scales = self.pixels(index, rng)
        return ((images - self.mean) / self.std).unsqueeze(1), self.labels[index], scales

    def sha256(self) -> dict[str, str]:
        """SHA-256 (hex) of the stored images, the labels and the scales: names
        this split's content."""
        return {
            name: hashlib.sha256(tensor.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
            for name, tensor in (("images", self.stored_images), ("labels", self.labels), ("scales", self.scales))
        }

    def to(self, device: torch.device | str) -> ScaleDataset:
        """This split with all its tensors on `device`."""
        moved = {
            field.name: getattr(self, field.name).to(device)
            for field in dataclasses.fields(self)
            if isinstance(getattr(self, field.name), torch.Tensor)
        }
        return dataclasses.replace(self, **moved)

    def loader(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        device: torch.device | str = "cpu",
        drop_last: bool = False,
    ) -> BatchLoader:
        """Batches of this split on `device`; see BatchLoader."""
        return BatchLoader(self.to(device), batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last)


class BatchLoader:
    """Iterates over a split in batches (x, y, s) already on the split's device.

    Pass k over the loader (k = 0, 1, ...) shuffles, when asked to, and draws
    augmentation with a generator seeded from (seed, k): the same seed gives
    the same sequence of epochs. Shows nothing; wrap it in tqdm for a bar.
    """

    def __init__(self, dataset: ScaleDataset, batch_size: int, *, shuffle: bool, seed: int, drop_last: bool):
        self.dataset = dataset
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0

    def __len__(self) -> int:
        count = len(self.dataset) / self.batch_size
        return math.floor(count) if self.drop_last else math.ceil(count)

    def __iter__(self) -> Iterator[Batch]:
        rng = seeded_generator(self.seed, self.epoch)
        self.epoch += 1
        device = self.dataset.labels.device
        if self.shuffle:
            order = torch.from_numpy(rng.permutation(len(self.dataset))).to(device)
        else:
            order = torch.arange(len(self.dataset), device=device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.dataset.batch(order[start : start + self.batch_size], rng)


@dataclass(frozen=True, eq=False)
class RenderedDigits(ScaleDataset):
    """Original 28×28 digits drawn at their data scale, centred on a
    canvas × canvas image, by bicubic resampling when a batch is made."""

    digits: torch.Tensor  # uint8 [N, 28, 28], the unscaled digits
    labels: torch.Tensor
    scales: torch.Tensor
    canvas: int
    mean: float
    std: float

    @property
    def image_size(self) -> int:
        return self.canvas

    @property
    def stored_images(self) -> torch.Tensor:
        return self.digits

    def pixels(self, index, rng):
        scales = self.scales[index]
        return rescale(self.digits[index].float() / 255, scales, self.canvas), scales

    def at_scale(self, scale: float) -> RenderedDigits:
        return dataclasses.replace(self, scales=torch.full_like(self.scales, check_scale(scale)))


@dataclass(frozen=True)
class Splits:
    """The three splits of one dataset realisation."""

    train: ScaleDataset
    val: ScaleDataset
    test: ScaleDataset

    def items(self) -> list[tuple[str, ScaleDataset]]:
        """[(name, split)] in the order train, val, test."""
        return [(name, getattr(self, name)) for name in SPLIT_NAMES]

    def to_dict(self) -> dict:
        """JSON-ready: image size [px], normalisation, and per split its
        size, range of data scales and SHA-256 sums (see ScaleDataset.sha256)."""
        return {
            "image_size": self.train.image_size,
            "normalization": {"mean": self.train.mean, "std": self.train.std},
            "splits": {
                name: {
                    "size": len(split),
                    "scale_min": float(split.scales.min()),
                    "scale_max": float(split.scales.max()),
                    "sha256": split.sha256(),
                }
                for name, split in self.items()
            },
        }

    def report(self, title: str) -> str:
        """`to_dict` as a table under the heading `title`."""
        summary = self.to_dict()
        size, norm = summary["image_size"], summary["normalization"]
        lines = [
            f"{title}: {size}x{size} images, normalised with mean {norm['mean']:.4g}, std {norm['std']:.4g}",
            f"{'split':<6} {'size':>6}  {'scales':<13}  sha256 images / labels / scales (first 12 hex digits)",
        ]
        for name, split in summary["splits"].items():
            sums = " / ".join(split["sha256"][key][:12] for key in ("images", "labels", "scales"))
            scales = f"{split['scale_min']:.3f}-{split['scale_max']:.3f}"
            lines.append(f"{name:<6} {split['size']:>6}  {scales:<13}  {sums}")
        return "\n".join(lines)


def seeded_generator(seed: int, *stream: int) -> np.random.Generator:
    """A NumPy generator for one purpose (`stream`, small non-negative ints)
    of the realisation `seed`; independent streams never share draws."""
    seed = check_int("seed", seed, low=0)
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


def check_sizes(sizes, available: int) -> tuple[int, int, int]:
    """(train, val, test) as ints, each ≥ 1 and together at most `available`."""
    sizes = tuple(sizes)
    whole = all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in sizes)
    if len(sizes) != 3 or not whole:
        raise fail("sizes", sizes, "three positive integers (train, val, test)")
    sizes = tuple(int(n) for n in sizes)
    if sum(sizes) > available:
        raise InputError(f"split sizes {sizes} need {sum(sizes)} digits, only {available} available")
    train, val, test = sizes
    return train, val, test


def check_scale(scale: float) -> float:
    """`scale` as a float, if it is a finite magnification factor > 0."""
    return check_positive("scale", scale)
