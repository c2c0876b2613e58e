"""The catalog of the thesis's datasets (App. A, B): every fact about them
that the data, the training and the command line share, torch-free.

    from scaletol.datasets import DATASETS
    DATASETS["mnist-scale"].sizes        # (10000, 2000, 50000)

Scales are magnification factors of the data (1 = the digit as in MNIST);
sizes count samples; canvases and σ are in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from scaletol.checks import check_choice

DIGIT_SIZE = 28  # px, height = width of an MNIST digit

# Per-scale evaluation grid: log-spaced, this many steps per octave (4 octaves
# × 11 + 1 = the thesis's 45 scales over 2^-0.5 … 2^3.5 on Dynamic Scale MNIST).
EVAL_PER_OCTAVE = 11.0

# Dynamic Scale MNIST trains only on scales ≥ this (shrinking loses information).
TRAIN_MIN_SCALE = 1.0

# MNIST-Scale (after SiCNN/SESN): the factor range of the stored digits, the
# factor range of the "+" variant's training-time rescaling, and the
# normalisation of its pixel values in [0, 1].
MNIST_SCALE_FACTORS = (0.3, 1.0)
MNIST_SCALE_AUGMENT = (0.5, 2.0)
MNIST_SCALE_MEAN, MNIST_SCALE_STD = 0.0607, 0.2161
# Its networks' basis-B ratio between sub-scales (SESN's and the thesis's code).
MNIST_SCALE_MULT = 1.4


@dataclass(frozen=True)
class DatasetInfo:
    """What one dataset is and how the thesis trains on it.

    canvas: image height = width served [px]. sizes: default (train, val,
    test). dist, range: its data scale distribution (tolerance name and
    bounds; MNIST-Scale's is fixed). normalisation: (mean, std) of pixel
    values in [0, 1], or None when measured on each realisation's training
    split. eval_range: default per-scale evaluation range. preview_scales:
    the data scales `tolcli data preview` shows. scale_lr, scale_warmup
    [epochs], scale_decay: the schedule of the scale-parameter group.
    initial_scales: ns, sigma_basis [px] and isr of its networks' internal
    scales.
    """

    name: str
    canvas: int
    sizes: tuple[int, int, int]
    dist: str
    range: tuple[float, float]
    normalisation: tuple[float, float] | None
    eval_range: tuple[float, float]
    preview_scales: tuple[float, ...]
    scale_lr: float
    scale_warmup: int
    scale_decay: float
    initial_scales: MappingProxyType

    def training_defaults(self) -> dict[str, Any]:
        """The TrainConfig settings this dataset decides."""
        names = ("dist", "range", "sizes", "scale_lr", "scale_warmup", "scale_decay", "eval_range")
        return {name: getattr(self, name) for name in names}


DATASETS: MappingProxyType = MappingProxyType(
    {
        "dynamic-mnist": DatasetInfo(
            name="dynamic-mnist",
            canvas=168,
            sizes=(10_000, 5_000, 50_000),
            dist="loguniform",
            range=(1.0, 8.0),
            normalisation=None,
            eval_range=(2**-0.5, 2**3.5),
            preview_scales=(2**-0.5, 1.0, 2.0, 4.0, 8.0),
            scale_lr=0.01,
            scale_warmup=5,
            scale_decay=0.75,
            initial_scales=MappingProxyType({"ns": 3, "sigma_basis": 2.0, "isr": 3.0}),
        ),
        "mnist-scale": DatasetInfo(
            name="mnist-scale",
            canvas=DIGIT_SIZE,
            sizes=(10_000, 2_000, 50_000),
            dist="uniform",
            range=MNIST_SCALE_FACTORS,
            normalisation=(MNIST_SCALE_MEAN, MNIST_SCALE_STD),
            eval_range=MNIST_SCALE_FACTORS,
            preview_scales=(0.3, 0.5, 0.7, 1.0),
            scale_lr=0.005,
            scale_warmup=10,
            scale_decay=0.1,
            initial_scales=MappingProxyType({"ns": 4, "sigma_basis": 1.5, "isr": 2.0}),
        ),
    }
)
NAMES = tuple(DATASETS)


def dataset_info(name: str) -> DatasetInfo:
    """The catalog entry of dataset `name` (InputError for an unknown name)."""
    return DATASETS[check_choice("dataset", name, NAMES)]
