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

from scaletol.files import atomic_write
from scaletol.results import run_results, write_results
from sesn.data.mnist import MNIST, load_mnist
from sesn.data.registry import Splits, build_dataset, evaluation_grid
from sesn.models import count_parameters, internal_scales, make_model, model_spec
from sesn.nn.scales import scale_parameters
from sesn.train.checkpoint import load_checkpoint, restore_rng_states, rng_states, save_checkpoint
from sesn.train.config import TrainConfig
from sesn.train.evaluation import error_rate, per_scale_errors
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

    def summary(self) -> dict:
        """JSON-ready summary (the `tolcli train --json` object)."""
        c = self.config
        assert c.range is not None, "filled from DATASET_DEFAULTS"
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


def resolve_device(name: str | torch.device) -> torch.device:
    """'auto' → CUDA when available, else CPU; 'cpu', 'cuda', 'cuda:N' as given."""
    if str(name) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {name!r}; use auto, cpu or cuda")
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
    `resume` without a checkpoint in `out_dir` starts afresh."""
    spec = model_spec(config.model)
    if spec.dataset != config.dataset:
        raise ValueError(f"model {config.model!r} is built for {spec.dataset}, not dataset {config.dataset!r}")
    spec.check(**config.model_options())  # bad scales or kernels fail here, before anything is read or written
    device = resolve_device(device)
    out_dir = Path(out_dir)
    checkpoint = _check_run_dir(out_dir, config, resume)
    splits = _build_splits(config, mnist, data_root)
    if len(splits.train) < config.batch_size:
        raise ValueError(f"batch_size {config.batch_size} exceeds the {len(splits.train)} training samples")
    forked = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=forked):
        torch.manual_seed(config.seed)
        model = make_model(config.model, **config.model_options()).to(device)
        description = _describe(config, model, spec.mode)
        optimizer = _make_optimizer(model, config)
        config.save(out_dir / CONFIG_FILE)  # only now that data and model could be built
        state = _fresh_state()
        if checkpoint is not None:
            state = _restore(checkpoint, model, optimizer, device)
        _fit(model, optimizer, splits, config, state, out_dir, device, progress, on_batch)
    model.load_state_dict(state["best"]["model"])
    return _finish(model, splits, config, state, description, out_dir, device, progress)


def _check_run_dir(out_dir: Path, config: TrainConfig, resume: bool) -> dict | None:
    """Check `out_dir` against `config` and return the checkpoint to resume
    from (None when starting afresh). Writes nothing."""
    saved = out_dir / CONFIG_FILE
    if saved.is_file():
        previous = TrainConfig.load(saved)
        if previous != config:
            changed = sorted(k for k, v in config.to_dict().items() if previous.to_dict()[k] != v)
            raise ValueError(f"{out_dir} holds a run with a different config (differs in: {', '.join(changed)})")
    started = (out_dir / CHECKPOINT_FILE).is_file() or (out_dir / RESULTS_FILE).is_file()
    if started and not resume:
        raise ValueError(f"{out_dir} already holds a run: resume it or choose another output directory")
    return load_checkpoint(out_dir / CHECKPOINT_FILE) if resume and started else None


def _build_splits(config: TrainConfig, mnist: MNIST | None, data_root) -> Splits:
    if mnist is None:
        mnist = load_mnist(data_root)
    assert config.dist is not None and config.range is not None, "filled from DATASET_DEFAULTS"
    dist = make_distribution(config.dist, *config.range) if config.dataset == "dynamic-mnist" else None
    return build_dataset(
        config.dataset, mnist=mnist, seed=config.seed, dist=dist, sizes=config.sizes, augment=config.augment
    )


def _describe(config: TrainConfig, model: nn.Module, mode: str | None) -> dict:
    """The run's settings for results files: the config with the model's
    actual initial scales filled in (ns 0 and ISR 1 for a CNN)."""
    scales = internal_scales(model)
    initial = scales.values if scales is not None else []
    return {
        **config.to_dict(),
        "mode": mode or "cnn",
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


def _fresh_state() -> dict:
    return {"epoch": 0, "history": [], "best": None, "train_seconds": 0.0, "train_samples": 0}


def _restore(checkpoint: dict, model: nn.Module, optimizer, device: torch.device) -> dict:
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    restore_rng_states(checkpoint["rng"], device)
    return {k: checkpoint[k] for k in _fresh_state()}


def _epoch_seed(seed: int, epoch: int) -> int:
    """Seed of the batch order (and augmentation) of one epoch."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def _fit(
    model,
    optimizer,
    splits: Splits,
    config: TrainConfig,
    state: dict,
    out_dir: Path,
    device: torch.device,
    progress: bool,
    on_batch: BatchHook | None,
) -> None:
    """Train from epoch state["epoch"] to config.epochs, checkpointing each epoch."""
    schedule = Schedule.from_config(config)
    epochs = tqdm(
        range(state["epoch"], config.epochs),
        desc=config.model,
        unit="epoch",
        initial=state["epoch"],
        total=config.epochs,
        disable=not progress,
    )
    for epoch in epochs:
        loader = splits.train.loader(
            config.batch_size, shuffle=True, device=device, drop_last=True, seed=_epoch_seed(config.seed, epoch)
        )
        started = time.perf_counter()
        loss, train_error, rates = _train_epoch(model, optimizer, loader, schedule, epoch, progress, on_batch)
        seconds = time.perf_counter() - started
        val_error = error_rate(model, splits.val, batch_size=config.batch_size, device=device)
        samples = len(loader) * config.batch_size
        state["train_seconds"] += seconds
        state["train_samples"] += samples
        row = {
            "epoch": epoch + 1,
            "lr": rates[0],
            "scale_lr": rates[1],
            "train_loss": loss,
            "train_error": train_error,
            "val_error": val_error,
            "seconds": seconds,
            "samples_per_s": samples / seconds,
            **_scale_columns(model),
        }
        state["history"].append(row)
        if state["best"] is None or val_error < state["best"]["val_error"]:
            state["best"] = {
                "epoch": epoch + 1,
                "val_error": val_error,
                "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            }
        state["epoch"] = epoch + 1
        save_checkpoint(
            {
                **state,
                "config": config.to_dict(),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": rng_states(device),
            },
            out_dir / CHECKPOINT_FILE,
        )
        write_metrics(state["history"], out_dir / METRICS_FILE)
        epochs.set_postfix(loss=f"{loss:.3f}", val_error=f"{100 * val_error:.2f}%")


def _train_epoch(
    model, optimizer, loader, schedule: Schedule, epoch: int, progress: bool, on_batch: BatchHook | None
) -> tuple[float, float, tuple[float, float]]:
    """One pass over `loader`: mean loss, training error fraction, and the
    (weights, scales) learning rates of its last step."""
    model.train()
    steps = len(loader)
    loss_sum: float | torch.Tensor = 0.0  # the sums stay on the device: no sync per step
    wrong, seen = 0, 0
    rates = (math.nan, math.nan)
    for index, (x, y, _) in enumerate(
        tqdm(loader, desc=f"epoch {epoch + 1}", unit="batch", leave=False, disable=not progress)
    ):
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


def _test(
    model,
    splits: Splits,
    config: TrainConfig,
    description: dict,
    val_error: float,
    device: torch.device,
    progress: bool,
) -> xr.Dataset:
    """The one-run results grid of `model`: test error on the test split and
    per-scale errors on the config's evaluation grid."""
    test_error = error_rate(model, splits.test, batch_size=config.batch_size, device=device)
    assert config.eval_range is not None, "filled from DATASET_DEFAULTS"
    grid = evaluation_grid(*config.eval_range, per_octave=config.eval_per_octave)
    errors, counts = per_scale_errors(
        model,
        splits.test,
        grid,
        batch_size=config.batch_size,
        device=device,
        limit=config.eval_limit,
        progress=progress,
    )
    scales = internal_scales(model)
    return run_results(
        description=description,
        data_scale=grid,
        error=errors,
        n=counts,
        scales=scales.values if scales is not None else [],
        test_error=test_error,
        val_error=val_error,
        isr=description["isr"],
    )


def _finish(
    model,
    splits: Splits,
    config: TrainConfig,
    state: dict,
    description: dict,
    out_dir: Path,
    device: torch.device,
    progress: bool,
) -> RunResult:
    """Test the selected model, write results.nc and return the RunResult."""
    results = _test(model, splits, config, description, state["best"]["val_error"], device, progress)
    write_results(results, out_dir / RESULTS_FILE)
    scales = internal_scales(model)
    return RunResult(
        config=config,
        test_error=float(results["test_error"].item()),
        val_error=state["best"]["val_error"],
        best_epoch=state["best"]["epoch"],
        epochs=state["epoch"],
        scales=scales.values if scales is not None else [],
        samples_per_s=state["train_samples"] / state["train_seconds"],
        parameters=count_parameters(model),
        results=results,
        out_dir=out_dir,
    )


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
    (settings left None keep the run's)."""
    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir / CONFIG_FILE)
    changes = dict(eval_range=eval_range, eval_per_octave=eval_per_octave, eval_limit=eval_limit)
    config = config.replace(**{k: v for k, v in changes.items() if v is not None})
    checkpoint = load_checkpoint(run_dir / CHECKPOINT_FILE)
    device = resolve_device(device)
    splits = _build_splits(config, mnist, data_root)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.seed)
        model = make_model(config.model, **config.model_options())
    description = _describe(config, model, model_spec(config.model).mode)
    model.load_state_dict(checkpoint["best"]["model"])
    return _test(model.to(device), splits, config, description, checkpoint["best"]["val_error"], device, progress)
