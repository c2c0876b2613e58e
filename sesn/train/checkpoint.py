"""One checkpoint dict per run, saved atomically after every epoch.

The dict (built by the training loop) holds the model and optimiser states,
the epoch count, the best-validation model, the metrics history and the random
number generator states, so a run resumed from it continues exactly where the
last complete epoch ended.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from scaletol.files import atomic_write


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """torch.save `state` to `path` atomically."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint onto the CPU (tensors, numbers, strings and
    containers only: no pickled code is run)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "no checkpoint to resume from", str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, ValueError) as exc:
        raise ValueError(f"unreadable checkpoint {path}: {exc}") from None


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
