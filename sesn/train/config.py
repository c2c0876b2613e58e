"""The one object that describes a training run (thesis App. B).

A `TrainConfig` fixes everything that decides a run's outcome: data, model,
optimiser schedule, evaluation grid and the seed. Options left as None take the
dataset's defaults when the config is built, so a saved config.json always
holds the values that were actually used, and `from_json(to_json())` is exact.
Runtime choices that must not change the result (device, data directory,
progress bars) are not part of it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaletol.files import atomic_write_text

DATASETS = ("dynamic-mnist", "mnist-scale")

# Per dataset (thesis App. A and B): the data scale distribution (MNIST-Scale's is
# fixed), split sizes (train, val, test), the schedule of the scale-parameter
# group, and the range of the per-scale evaluation grid.
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "dynamic-mnist": dict(
        dist="loguniform",
        range=(1.0, 8.0),
        sizes=(10000, 5000, 50000),
        scale_lr=0.01,
        scale_warmup=5,
        scale_decay=0.75,
        eval_range=(2**-0.5, 2**3.5),
    ),
    "mnist-scale": dict(
        dist="uniform",
        range=(0.3, 1.0),
        sizes=(10000, 2000, 50000),
        scale_lr=0.005,
        scale_warmup=10,
        scale_decay=0.1,
        eval_range=(0.3, 1.0),
    ),
}

# Fields that are tuples in the dataclass and lists in JSON.
_TUPLE_FIELDS = ("range", "sizes", "milestones", "scales", "eval_range")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting that decides the outcome of one training run.

    Scales (`range`, `eval_range`) are data magnification factors; `sigma_basis`,
    `scales` and `sigma_unit` are in pixels; learning rates per Adam step;
    `milestones` and `scale_warmup` in epochs. The per-scale evaluation grid
    has `eval_per_octave` steps per octave over `eval_range` (45 scales by
    default on dynamic-mnist) and shows each of the first `eval_limit` test
    digits (all when None) at every scale.
    """

    model: str
    dataset: str = "dynamic-mnist"
    dist: str | None = None
    range: tuple[float, float] | None = None
    augment: bool = False
    sizes: tuple[int, int, int] | None = None
    seed: int = 0
    epochs: int = 60
    batch_size: int = 128
    lr: float = 0.01
    milestones: tuple[int, ...] = (20, 40)
    lr_decay: float = 0.1
    scale_lr: float | None = None
    scale_warmup: int | None = None
    scale_decay: float | None = None
    ns: int | None = None
    sigma_basis: float | None = None
    isr: float | None = None
    scales: tuple[float, ...] | None = None
    learn_sigma: bool | None = None
    max_kernel: int | None = None
    mult: float | None = None
    sigma_unit: float = 2.0
    eval_range: tuple[float, float] | None = None
    eval_per_octave: float = 11.0
    eval_limit: int | None = None

    def __post_init__(self):
        for name in _TUPLE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose from {', '.join(DATASETS)}")
        for name, default in DATASET_DEFAULTS[self.dataset].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        self._validate()
        if self.dataset == "mnist-scale" and (self.dist, self.range) != ("uniform", (0.3, 1.0)):
            raise ValueError(
                f"mnist-scale has fixed data scales (uniform in [0.3, 1.0]); "
                f"got dist {self.dist!r} range {self.range!r}: these apply to dynamic-mnist only"
            )

    def _validate(self) -> None:
        assert self.sizes is not None, "filled from DATASET_DEFAULTS"
        _check_range("range", self.range)
        _check_range("eval_range", self.eval_range)
        if len(self.sizes) != 3:
            raise ValueError(f"sizes must be (train, val, test), got {self.sizes!r}")
        for name in ("epochs", "batch_size"):
            _check_int(name, getattr(self, name), minimum=1)
        for value in self.sizes:
            _check_int("sizes", value, minimum=1)
        _check_int("seed", self.seed, minimum=0)
        _check_int("scale_warmup", self.scale_warmup, minimum=0)
        for name in ("lr", "lr_decay", "scale_lr", "scale_decay", "sigma_unit", "eval_per_octave"):
            _check_positive(name, getattr(self, name))
        for name in ("sigma_basis", "isr", "mult"):
            if getattr(self, name) is not None:
                _check_positive(name, getattr(self, name))
        for name in ("ns", "max_kernel", "eval_limit"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), minimum=1)
        if list(self.milestones) != sorted(set(self.milestones)) or any(
            not isinstance(m, int) or m < 1 for m in self.milestones
        ):
            raise ValueError(f"milestones must be increasing positive epochs, got {self.milestones!r}")
        if self.scales is not None:
            for scale in self.scales:
                _check_positive("scales", scale)
        if self.learn_sigma not in (None, True, False):
            raise ValueError(f"learn_sigma must be true or false, got {self.learn_sigma!r}")
        if not isinstance(self.augment, bool):
            raise ValueError(f"augment must be true or false, got {self.augment!r}")

    def model_options(self) -> dict:
        """Keyword arguments for `sesn.models.make_model` (only those given)."""
        names = ("ns", "sigma_basis", "isr", "scales", "learn_sigma", "max_kernel", "mult")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def replace(self, **changes) -> TrainConfig:
        """A copy with `changes` applied (validated like a new config). A new
        dataset brings its own defaults for the settings in DATASET_DEFAULTS
        that `changes` does not give."""
        if changes.get("dataset", self.dataset) != self.dataset:
            changes = {**dict.fromkeys(DATASET_DEFAULTS[self.dataset]), **changes}
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples become lists)."""
        out = dataclasses.asdict(self)
        for name in _TUPLE_FIELDS:
            if out[name] is not None:
                out[name] = list(out[name])
        return out

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Inverse of `to_dict`; an unknown key is a ValueError naming it."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config key(s): {', '.join(unknown)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"malformed config JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"config JSON must be an object, got {type(data).__name__}")
        return cls.from_dict(data)

    def save(self, path: str | Path) -> Path:
        """Write config.json atomically."""
        return atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def _check_positive(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def _check_int(name: str, value, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_range(name: str, bounds) -> None:
    if len(bounds) != 2:
        raise ValueError(f"{name} must be (lo, hi), got {bounds!r}")
    for value in bounds:
        _check_positive(name, value)
    if not bounds[0] < bounds[1]:
        raise ValueError(f"{name} needs lo < hi, got {bounds!r}")
