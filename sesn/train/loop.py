"""Train one model (thesis App. B) and evaluate it per data scale.

`train(config, out_dir)` builds the data and model from a TrainConfig, runs
Adam with two parameter groups (network weights; internal scales) on the
schedule of `sesn.train.schedule`, keeps the model of best validation accuracy,
and measures its test error overall and on the per-scale evaluation grid.

The run directory holds config.json, checkpoint.pt (after every epoch),
metrics.csv (one row per epoch: losses, errors, learning rates, σ_basis, ISR
and every internal scale) and finally results.nc. The seed fixes the data
realisation, the initial weights, the batch order and dropout, so
`train(..., resume=True)` after a kill ends with the same result as a run that
was never interrupted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import xarray as xr
from torch import nn
from tqdm import tqdm

from scaletol.checks import InputError, fail
from scaletol.files import atomic_write
from scaletol.results import run_results, write_results
from sesn.data.mnist import MNIST, load_mnist
from sesn.data.registry import Splits, build_dataset, evaluation_grid
from sesn.models import count_parameters, internal_scales, make_model, model_spec
from sesn.nn.scales import scale_parameters
from sesn.train.allocator import keep_freed_memory
from sesn.train.checkpoint import TrainingState, load_checkpoint, restore_rng_states, rng_states, save_checkpoint
from sesn.train.config import TrainConfig
from sesn.train.evaluation import EVAL_BATCH, error_rate, per_scale_errors
from sesn.train.precision import check_precision, training_precision
from sesn.train.schedule import Schedule
from tolerance.distributions import make_distribution

CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.csv"
RESULTS_FILE = "results.nc"

# Called after every optimiser step with (epoch, batch index), both 0-based.
BatchHook = Callable[[int, int], None]


@dataclass
class RunResult:
    """Outcome of one run: errors are fractions, scales in pixels (those of
    the selected model; empty for a CNN), samples_per_s counts training
    samples per second of training steps."""

    config: TrainConfig
    test_error: float
    val_error: float
    best_epoch: int
    epochs: int
    scales: list[float]
    samples_per_s: float
    parameters: int
    results: xr.Dataset
    out_dir: Path

    @property
    def sigma_basis(self) -> float | None:
        return min(self.scales) if self.scales else None

    @property
    def isr(self) -> float | None:
        return max(self.scales) / min(self.scales) if self.scales else None

    def to_dict(self) -> dict:
        """JSON-ready summary (the `tolcli train --json` object)."""
        c = self.config
        return {
            "model": c.model,
            "dataset": c.dataset,
            "dist": c.dist,
            "range": list(c.range),
            "seed": c.seed,
            "test_error": self.test_error,
            "val_error": self.val_error,
            "best_epoch": self.best_epoch,
            "epochs": self.epochs,
            "sigma_basis": self.sigma_basis,
            "isr": self.isr,
            "scales": self.scales,
            "samples_per_s": self.samples_per_s,
            "parameters": self.parameters,
            "out": str(self.out_dir),
        }

    def report(self) -> str:
        """A few readable lines about the run."""
        c = self.config
        lines = [
            f"model        {c.model} on {c.dataset} ({c.dist} {c.range[0]:g}-{c.range[1]:g}), seed {c.seed}",
            f"test error   {100 * self.test_error:.3f} %  (val {100 * self.val_error:.3f} %, "
            f"best epoch {self.best_epoch} of {self.epochs})",
        ]
        if self.scales:
            scales = ", ".join(f"{s:.3f}" for s in self.scales)
            lines.append(f"scales       σ_basis {self.sigma_basis:.3f} px, ISR {self.isr:.3f}  [{scales}] px")
        lines.append(f"speed        {self.samples_per_s:.1f} training samples/s, {self.parameters} parameters")
        lines.append(f"wrote        {self.out_dir / RESULTS_FILE}")
        return "\n".join(lines)


def resolve_device(name: str | torch.device) -> torch.device:
    """'auto' → CUDA when available, else CPU; 'cpu', 'cuda', 'cuda:N' as given."""
    if str(name) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise fail("device", name, "auto, cpu or cuda") from None
    if device.type not in ("cpu", "cuda"):
        raise fail("device", name, "auto, cpu or cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise fail("device", name, "a device this machine has (CUDA is not available)")
    return device


def train(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    mnist: MNIST | None = None,
    data_root: str | Path | None = None,
    device: str | torch.device = "auto",
    resume: bool = False,
    progress: bool = True,
    on_batch: BatchHook | None = None,
) -> RunResult:
    """Run (or, with `resume`, continue) the training described by `config`
    in `out_dir`. MNIST comes from `mnist`, else `data_root`/$SCALETOL_DATA.
    `resume` without a checkpoint in `out_dir` starts afresh. On the CPU,
    freed memory is kept for reuse (``sesn.train.allocator``)."""
    model_spec(config.model).check(**config.model_options())  # bad scales or kernels fail before anything is written
    device = resolve_device(device)
    if device.type == "cpu":
        keep_freed_memory()
    check_precision(config.precision, device)
    out_dir = Path(out_dir)
    checkpoint = _check_run_dir(out_dir, config, resume)
    splits = _build_splits(config, mnist, data_root)
    if len(splits.train) < config.batch_size:
        raise fail("batch_size", config.batch_size, f"≤ the {len(splits.train)} training samples")
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.seed)
        run = _Run.start(config, splits, device, out_dir, progress)
        optimizer = _make_optimizer(run.model, config)
        config.save(out_dir / CONFIG_FILE)  # only now that data and model could be built
        state = TrainingState() if checkpoint is None else _restore(checkpoint, run.model, optimizer, device)
        with training_precision(config.precision, device):
            run.fit(state, optimizer, on_batch)
    run.model.load_state_dict(state.selected.weights)
    return run.finish(state)


def _check_run_dir(out_dir: Path, config: TrainConfig, resume: bool) -> dict | None:
    """Check `out_dir` against `config` and return the checkpoint to resume
    from (None when starting afresh). Writes nothing."""
    saved = out_dir / CONFIG_FILE
    if saved.is_file():
        previous = TrainConfig.load(saved)
        if previous != config:
            changed = sorted(k for k, v in config.to_dict().items() if previous.to_dict()[k] != v)
            raise InputError(f"{out_dir} holds a run with a different config (differs in: {', '.join(changed)})")
    started = (out_dir / CHECKPOINT_FILE).is_file() or (out_dir / RESULTS_FILE).is_file()
    if started and not resume:
        raise InputError(f"{out_dir} already holds a run: resume it or choose another output directory")
    return load_checkpoint(out_dir / CHECKPOINT_FILE) if resume and started else None


def _build_splits(config: TrainConfig, mnist: MNIST | None, data_root) -> Splits:
    if mnist is None:
        mnist = load_mnist(data_root)
    dist = make_distribution(config.dist, *config.range) if config.dataset == "dynamic-mnist" else None
    return build_dataset(
        config.dataset, mnist=mnist, seed=config.seed, dist=dist, sizes=config.sizes, augment=config.augment
    )


def _describe(config: TrainConfig, model: nn.Module) -> dict:
    """The run's settings for results files: the config with the model's
    actual initial scales filled in (ns 0 and ISR 1 for a CNN)."""
    scales = internal_scales(model)
    initial = scales.values if scales is not None else []
    return {
        **config.to_dict(),
        "mode": model_spec(config.model).mode or "cnn",
        "ns": len(initial),
        "sigma_basis": min(initial) if initial else None,
        "isr": max(initial) / min(initial) if initial else 1.0,
        "initial_scales": initial,
    }


def _make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Adam:
    """Adam with a group for the network weights and, when the model learns
    its scales, one for the scale parameters."""
    scale_ids = {id(p) for p in scale_parameters(model)}
    weights = [p for p in model.parameters() if p.requires_grad and id(p) not in scale_ids]
    scales = [p for p in scale_parameters(model) if p.requires_grad]
    groups = [{"params": weights, "lr": config.lr}]
    if scales:
        groups.append({"params": scales, "lr": config.scale_lr})
    return torch.optim.Adam(groups)


def _restore(checkpoint: dict, model: nn.Module, optimizer, device: torch.device) -> TrainingState:
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    restore_rng_states(checkpoint["rng"], device)
    return TrainingState.from_dict(checkpoint)


def _epoch_seed(seed: int, epoch: int) -> int:
    """Seed of the batch order (and augmentation) of one epoch."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


@dataclass
class _Run:
    """One run's fixed parts: its config, data, model (on `device`), the
    settings its results files describe, and where it writes."""

    config: TrainConfig
    splits: Splits
    model: nn.Module
    description: dict
    device: torch.device
    out_dir: Path
    progress: bool

    @classmethod
    def start(cls, config: TrainConfig, splits: Splits, device: torch.device, out_dir: Path, progress: bool) -> _Run:
        """Build the model of `config` (from the current torch seed) on `device`."""
        model = make_model(config.model, **config.model_options()).to(device)
        return cls(config, splits, model, _describe(config, model), device, out_dir, progress)

    @property
    def eval_batch(self) -> int:
        """Samples per evaluation batch: EVAL_BATCH, or the training batch if larger."""
        return max(self.config.batch_size, EVAL_BATCH)

    def fit(self, state: TrainingState, optimizer, on_batch: BatchHook | None) -> None:
        """Train from epoch state.epoch to config.epochs, checkpointing each epoch."""
        config = self.config
        schedule = Schedule.from_config(config)
        epochs = tqdm(
            range(state.epoch, config.epochs),
            desc=config.model,
            unit="epoch",
            initial=state.epoch,
            total=config.epochs,
            disable=not self.progress,
        )
        for epoch in epochs:
            loader = self.splits.train.loader(
                config.batch_size,
                shuffle=True,
                device=self.device,
                drop_last=True,
                seed=_epoch_seed(config.seed, epoch),
            )
            started = time.perf_counter()
            loss, train_error, rates = self._train_epoch(optimizer, loader, schedule, epoch, on_batch)
            seconds = time.perf_counter() - started
            val_error = error_rate(self.model, self.splits.val, batch_size=self.eval_batch, device=self.device)
            samples = len(loader) * config.batch_size
            row = {
                "epoch": epoch + 1,
                "lr": rates[0],
                "scale_lr": rates[1],
                "train_loss": loss,
                "train_error": train_error,
                "val_error": val_error,
                "seconds": seconds,
                "samples_per_s": samples / seconds,
                **_scale_columns(self.model),
            }
            state.record_epoch(row, self.model, seconds, samples)
            checkpoint = {
                **state.to_dict(),
                "config": config.to_dict(),
                "model": self.model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": rng_states(self.device),
            }
            save_checkpoint(checkpoint, self.out_dir / CHECKPOINT_FILE)
            write_metrics(state.history, self.out_dir / METRICS_FILE)
            epochs.set_postfix(loss=f"{loss:.3f}", val_error=f"{100 * val_error:.2f}%")

    def _train_epoch(
        self, optimizer, loader, schedule: Schedule, epoch: int, on_batch: BatchHook | None
    ) -> tuple[float, float, tuple[float, float]]:
        """One pass over `loader`: mean loss, training error fraction, and the
        (weights, scales) learning rates of its last step."""
        model = self.model
        model.train()
        steps = len(loader)
        loss_sum: float | torch.Tensor = 0.0  # the sums stay on the device: no sync per step
        wrong, seen = 0, 0
        rates = (math.nan, math.nan)
        batches = tqdm(loader, desc=f"epoch {epoch + 1}", unit="batch", leave=False, disable=not self.progress)
        for index, (x, y, _) in enumerate(batches):
            rates = schedule.rates(epoch * steps + index, steps)
            for group, rate in zip(optimizer.param_groups, rates):
                group["lr"] = rate
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum = loss_sum + loss.detach().double() * len(y)
            wrong = wrong + (logits.detach().argmax(1) != y).sum()
            seen += len(y)
            if on_batch is not None:
                on_batch(epoch, index)
        scale_rate = rates[1] if len(optimizer.param_groups) > 1 else math.nan
        return float(loss_sum) / seen, int(wrong) / seen, (rates[0], scale_rate)

    def test(self, val_error: float) -> xr.Dataset:
        """The one-run results grid of the model: test error on the test
        split and per-scale errors on the config's evaluation grid."""
        config, model = self.config, self.model
        test_error = error_rate(model, self.splits.test, batch_size=self.eval_batch, device=self.device)
        grid = evaluation_grid(*config.eval_range, per_octave=config.eval_per_octave)
        errors, counts = per_scale_errors(
            model,
            self.splits.test,
            grid,
            batch_size=self.eval_batch,
            device=self.device,
            limit=config.eval_limit,
            progress=self.progress,
        )
        scales = internal_scales(model)
        return run_results(
            description=self.description,
            data_scale=grid,
            error=errors,
            n=counts,
            scales=scales.values if scales is not None else [],
            test_error=test_error,
            val_error=val_error,
            isr=self.description["isr"],
        )

    def finish(self, state: TrainingState) -> RunResult:
        """Test the selected model, write results.nc and return the RunResult."""
        results = self.test(state.selected.val_error)
        write_results(results, self.out_dir / RESULTS_FILE)
        scales = internal_scales(self.model)
        return RunResult(
            config=self.config,
            test_error=float(results["test_error"].item()),
            val_error=state.selected.val_error,
            best_epoch=state.selected.epoch,
            epochs=state.epoch,
            scales=scales.values if scales is not None else [],
            samples_per_s=state.samples_per_s,
            parameters=count_parameters(self.model),
            results=results,
            out_dir=self.out_dir,
        )


def _scale_columns(model: nn.Module) -> dict:
    """σ_basis, ISR and each internal scale (px) of `model` now."""
    scales = internal_scales(model)
    if scales is None:
        return {}
    values = scales.values
    return {
        "sigma_basis": min(values),
        "isr": max(values) / min(values),
        **{f"scale_{i + 1}": v for i, v in enumerate(values)},
    }


def write_metrics(history: list[dict], path: Path) -> Path:
    """The per-epoch rows as CSV, atomically."""
    return atomic_write(path, lambda tmp: pd.DataFrame(history).to_csv(tmp, index=False))


def evaluate_run(
    run_dir: str | Path,
    *,
    eval_range: tuple[float, float] | None = None,
    eval_per_octave: float | None = None,
    eval_limit: int | None = None,
    mnist: MNIST | None = None,
    data_root: str | Path | None = None,
    device: str | torch.device = "auto",
    progress: bool = True,
) -> xr.Dataset:
    """Results grid of the selected (best-validation) model of the run in
    `run_dir` so far, evaluated on its own test split over a new per-scale grid
    (settings left None keep the run's). On the CPU, freed memory is kept
    for reuse, as in ``train``."""
    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir / CONFIG_FILE)
    changes = dict(eval_range=eval_range, eval_per_octave=eval_per_octave, eval_limit=eval_limit)
    config = config.replace(**{k: v for k, v in changes.items() if v is not None})
    state = TrainingState.from_dict(load_checkpoint(run_dir / CHECKPOINT_FILE))
    device = resolve_device(device)
    if device.type == "cpu":
        keep_freed_memory()
    splits = _build_splits(config, mnist, data_root)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.seed)
        run = _Run.start(config, splits, device, run_dir, progress)
    run.model.load_state_dict(state.selected.weights)
    return run.test(state.selected.val_error)
