"""One checkpoint dict per run, saved atomically after every epoch.

The dict holds the run's config, the model and optimiser states, the random
number generator states and the `TrainingState` (epoch count, metrics history,
best-validation model, training time), so a run resumed from it continues
exactly where the last complete epoch ended.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from scaletol.checks import check_file, unreadable
from scaletol.files import atomic_write


@dataclass
class BestModel:
    """The model of lowest validation error so far: its epoch (1-based),
    validation error (fraction) and weights (on the CPU)."""

    epoch: int
    val_error: float
    weights: dict[str, torch.Tensor]


@dataclass
class TrainingState:
    """Where a run stands after its last complete epoch.

    epoch: epochs done; history: one metrics row per epoch; best: the
    best-validation model (None before the first epoch); train_seconds and
    train_samples: time spent in, and samples seen by, training steps.
    """

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best: BestModel | None = None
    train_seconds: float = 0.0
    train_samples: int = 0

    @property
    def selected(self) -> BestModel:
        """The best-validation model (RuntimeError before the first epoch)."""
        if self.best is None:
            raise RuntimeError("no epoch has finished: there is no selected model yet")
        return self.best

    def record_epoch(self, row: dict[str, float], model: nn.Module, seconds: float, samples: int) -> None:
        """Count one finished epoch: its metrics `row` (with "val_error"), and
        `model` as the best one if its validation error is the lowest yet."""
        self.history.append(row)
        self.epoch += 1
        self.train_seconds += seconds
        self.train_samples += samples
        if self.best is None or row["val_error"] < self.best.val_error:
            weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            self.best = BestModel(self.epoch, row["val_error"], weights)

    @property
    def samples_per_s(self) -> float:
        """Training samples per second of training steps."""
        return self.train_samples / self.train_seconds

    def to_dict(self) -> dict[str, Any]:
        """The entries of the checkpoint dict that hold this state (tensors,
        numbers, strings and containers only)."""
        best = None
        if self.best is not None:
            best = {"epoch": self.best.epoch, "val_error": self.best.val_error, "model": self.best.weights}
        return {
            "epoch": self.epoch,
            "history": self.history,
            "best": best,
            "train_seconds": self.train_seconds,
            "train_samples": self.train_samples,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingState:
        """The state in a checkpoint dict (the inverse of `to_dict`)."""
        best = data["best"]
        return cls(
            epoch=data["epoch"],
            history=data["history"],
            best=None if best is None else BestModel(best["epoch"], best["val_error"], best["model"]),
            train_seconds=data["train_seconds"],
            train_samples=data["train_samples"],
        )


def save_checkpoint(checkpoint: dict, path: str | os.PathLike) -> Path:
    """torch.save the `checkpoint` dict to `path` atomically."""
    return atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint onto the CPU (tensors, numbers, strings and
    containers only: no pickled code is run). A missing or unreadable file is
    an InputError naming it."""
    path = check_file("checkpoint", path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        raise unreadable("checkpoint", path, exc) from None


def rng_states(device: torch.device) -> dict:
    """The torch generator states that a training step draws from (CPU, and
    the device's when it is a GPU)."""
    states = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def restore_rng_states(states: dict, device: torch.device) -> None:
    torch.set_rng_state(states["cpu"])
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)
