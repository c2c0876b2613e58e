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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaletol.checks import InputError, check_choice, check_int, check_positive, check_range, fail
from scaletol.datasets import DATASETS, EVAL_PER_OCTAVE, DatasetInfo, dataset_info
from scaletol.files import atomic_write_text, read_text
from tolerance.distributions import make_distribution
from tolerance.fit import DEFAULT_SIGMA_UNIT, suggest

# Fields that are tuples in the dataclass and lists in JSON.
_TUPLE_FIELDS = ("range", "sizes", "milestones", "scales", "eval_range")

BATCH_SIZE = 128  # the thesis's; a smaller training split makes one batch

# Where the initial σ_basis and ISR come from: the dataset's (the thesis's)
# or the tolerance model's suggestion for the training distribution.
INITS = ("thesis", "suggest")
PRECISIONS = ("fp32", "tf32", "bf16")  # of training steps: sesn.train.precision


# The default of the settings that every built config holds: None until
# __post_init__ fills them in (typed Any so that the fields keep their types).
FILLED: Any = None


@dataclass(frozen=True)
class TrainConfig:
    """Every setting that decides the outcome of one training run.

    Scales (`range`, `eval_range`) are data magnification factors; `sigma_basis`,
    `scales` and `sigma_unit` are in pixels; learning rates per Adam step;
    `milestones` and `scale_warmup` in epochs. The per-scale evaluation grid
    has `eval_per_octave` steps per octave over `eval_range` (45 scales by
    default on dynamic-mnist) and shows each of the first `eval_limit` test
    digits (all when None) at every scale.

    Left None (`FILLED`, the default of the settings typed without None):
    `dataset` is the model's; the settings of
    `DatasetInfo.training_defaults` are the dataset's (an entry of `sizes`
    too); `batch_size` is BATCH_SIZE, or the training split's size if smaller.

    `init` "suggest" sets `sigma_basis` and `isr` to `tolerance.fit.suggest`'s
    for the training distribution (`dist` on `range`, N_S `ns` or the
    dataset's, `sigma_unit`); given, they must be those values ("thesis":
    the dataset's initial scales, or the ones given). `precision` is that
    of the training steps and per-epoch validation (`sesn.train.precision`);
    the final test runs in float32.
    """

    model: str
    dataset: str = FILLED
    dist: str = FILLED
    range: tuple[float, float] = FILLED
    augment: bool = False
    sizes: tuple[int, int, int] = FILLED
    seed: int = 0
    epochs: int = 60
    batch_size: int = FILLED
    lr: float = 0.01
    milestones: tuple[int, ...] = (20, 40)
    lr_decay: float = 0.1
    scale_lr: float = FILLED
    scale_warmup: int = FILLED
    scale_decay: float = FILLED
    ns: int | None = None
    sigma_basis: float | None = None
    isr: float | None = None
    scales: tuple[float, ...] | None = None
    learn_sigma: bool | None = None
    max_kernel: int | None = None
    mult: float | None = None
    sigma_unit: float = DEFAULT_SIGMA_UNIT
    eval_range: tuple[float, float] = FILLED
    eval_per_octave: float = EVAL_PER_OCTAVE
    eval_limit: int | None = None
    init: str = "thesis"
    precision: str = "fp32"

    def __post_init__(self):
        for name in _TUPLE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))
        model_dataset = _dataset_of(self.model)
        info = dataset_info(self.dataset or model_dataset)
        self._fill_defaults(info)
        self._validate()
        if self.init == "suggest":
            self._fill_suggested_scales(info)
        if self.batch_size is None:
            object.__setattr__(self, "batch_size", min(BATCH_SIZE, self.sizes[0]))
        self._check_dataset(info, model_dataset)

    def _fill_defaults(self, info: DatasetInfo) -> None:
        """Set the settings left None from the dataset `info`."""
        object.__setattr__(self, "dataset", info.name)
        for name, default in info.training_defaults().items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        if len(self.sizes) == 3 and None in self.sizes:
            object.__setattr__(self, "sizes", tuple(d if n is None else n for n, d in zip(self.sizes, info.sizes)))

    def _fill_suggested_scales(self, info: DatasetInfo) -> None:
        """σ_basis and ISR from the tolerance model's suggestion for the
        training distribution (InputError if given otherwise)."""
        if self.scales is not None:
            raise fail("scales", self.scales, "left out with init='suggest' (it sets σ_basis and ISR)")
        ns = self.ns if self.ns is not None else info.initial_scales["ns"]
        suggestion = suggest(make_distribution(self.dist, *self.range), ns, sigma_unit=self.sigma_unit)
        for name, value in (("sigma_basis", float(suggestion.sigma_basis)), ("isr", float(suggestion.isr))):
            given = getattr(self, name)
            if given is not None and given != value:
                raise fail(name, given, f"left out with init='suggest' (the suggestion is {value:.6g})")
            object.__setattr__(self, name, value)

    def _check_dataset(self, info: DatasetInfo, model_dataset: str) -> None:
        """The data scales of a dataset that fixes them, and the model's dataset."""
        if info.normalisation is not None:  # a dataset with fixed data scales
            for name in ("dist", "range"):
                value, fixed = getattr(self, name), getattr(info, name)
                if value != fixed:
                    raise fail(name, value, f"{fixed!r} on {self.dataset}, whose data scales are fixed")
        if self.dataset != model_dataset:
            raise InputError(
                f"model={self.model!r} is built for dataset {model_dataset!r}, not dataset={self.dataset!r}"
            )

    def _validate(self) -> None:
        check_range("range", self.range)
        check_range("eval_range", self.eval_range)
        if len(self.sizes) != 3:
            raise fail("sizes", self.sizes, "(train, val, test)")
        for value in self.sizes:
            check_int("sizes", value, low=1)
        check_int("epochs", self.epochs, low=1)
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, low=1)
        check_int("seed", self.seed, low=0)
        check_choice("init", self.init, INITS)
        check_choice("precision", self.precision, PRECISIONS)
        check_int("scale_warmup", self.scale_warmup, low=0)
        for name in ("lr", "lr_decay", "scale_lr", "scale_decay", "sigma_unit", "eval_per_octave"):
            check_positive(name, getattr(self, name))
        for name in ("sigma_basis", "isr", "mult"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name))
        for name in ("ns", "max_kernel", "eval_limit"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), low=1)
        if list(self.milestones) != sorted(set(self.milestones)) or any(
            not isinstance(m, int) or m < 1 for m in self.milestones
        ):
            raise fail("milestones", self.milestones, "increasing positive epochs")
        if self.scales is not None:
            for scale in self.scales:
                check_positive("scales", scale)
        for name in ("learn_sigma", "augment"):
            value = getattr(self, name)
            if not (isinstance(value, bool) or (name == "learn_sigma" and value is None)):
                raise fail(name, value, "true or false")

    def model_options(self) -> dict:
        """Keyword arguments for `sesn.models.make_model` (only those given)."""
        names = ("ns", "sigma_basis", "isr", "scales", "learn_sigma", "max_kernel", "mult")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def replace(self, **changes) -> TrainConfig:
        """A copy with `changes` applied (validated like a new config). A new
        dataset brings its own defaults for the settings its catalog entry
        decides (`DatasetInfo.training_defaults`) that `changes` does not give;
        with init "suggest", σ_basis and ISR are suggested anew unless given."""
        if changes.get("dataset", self.dataset) != self.dataset:
            changes = {**dict.fromkeys(DATASETS[self.dataset].training_defaults()), **changes}
        if changes.get("init", self.init) == "suggest":
            changes = {"sigma_basis": None, "isr": None, **changes}
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
        """Inverse of `to_dict`; an unknown key is an InputError naming it."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise fail("config keys", unknown, "among " + ", ".join(sorted(known)))
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed config JSON: {exc}") from None
        if not isinstance(data, dict):
            raise fail("config JSON", type(data).__name__, "an object")
        return cls.from_dict(data)

    def save(self, path: str | Path) -> Path:
        """Write config.json atomically."""
        return atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a config.json; a missing or malformed file is an InputError naming it."""
        text = read_text("config", path)
        try:
            return cls.from_json(text)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None


def _dataset_of(model: str) -> str:
    """The dataset `model` is built for (InputError for an unknown model)."""
    from sesn.models import model_spec  # torch: only once a config is built

    return model_spec(model).dataset
