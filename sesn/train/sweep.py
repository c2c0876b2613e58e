"""Grids of training runs, resumable, merged into one results file.

Two kinds of grid (thesis §4.1.1 and §4.3):
- ISR × seeds × data ranges for one model: each cell trains with a fixed (or
  initial) ISR on one log-uniform-style range. One range gives a results grid
  indexed by (seed, isr); several ranges one indexed by (seed, config) with
  coordinates initial_isr, range_lo and range_hi along config.
- models × seeds: indexed by (seed, config), the model names in attrs["configs"].

Each cell trains in OUT/cells/<name>/ (config, checkpoint, metrics,
results.nc). Rerunning a sweep skips cells that have results, resumes cells
that were cut off, and rewrites OUT/results.nc after every finished cell.
`run_sweep` trains the cells one after another; `sesn.train.cluster` runs
them as tasks on Dask's distributed scheduler, through the same `train_cell`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from scaletol.checks import InputError, check_int, check_number, fail
from scaletol.results import as_config_cell, merge_results, read_results, write_results
from sesn.models import model_spec
from sesn.train.config import TrainConfig
from sesn.train.loop import CONFIG_FILE, RESULTS_FILE, train

CELLS_DIR = "cells"


@dataclass(frozen=True)
class SweepCell:
    """One run of a sweep: its directory name, config, and where it sits in a
    config grid (index and numeric labels; None for an isr-indexed grid)."""

    name: str
    config: TrainConfig
    index: int | None = None
    labels: dict = field(default_factory=dict)


def isr_grid(lo: float, hi: float, count: int) -> list[float]:
    """`count` ISRs log-spaced from `lo` to `hi` (thesis: 1.5 … 7.65)."""
    count = check_int("ISR grid count", count, low=1)
    lo = check_number("ISR grid lo", lo, low=1.0)
    hi = check_number("ISR grid hi", hi, low=lo)
    return np.geomspace(lo, hi, count).tolist() if count > 1 else [float(lo)]


def isr_cells(
    base: TrainConfig, isrs: Sequence[float], seeds: Sequence[int], ranges: Sequence[tuple[float, float]]
) -> list[SweepCell]:
    """The ISR × seeds × data ranges grid for `base.model`."""
    _check_unique("isr", isrs)
    _check_unique("seed", seeds)
    _check_unique("range", [tuple(r) for r in ranges])
    cells = []
    for r, (lo, hi) in enumerate(ranges):
        for i, isr in enumerate(isrs):
            index = r * len(isrs) + i if len(ranges) > 1 else None
            labels = {"range_lo": lo, "range_hi": hi} if index is not None else {}
            for seed in seeds:
                config = base.replace(isr=float(isr), seed=int(seed), range=(lo, hi))
                name = f"range{lo:.6g}-{hi:.6g}_isr{isr:.6g}_seed{seed}"
                cells.append(SweepCell(name, config, index, labels))
    return cells


def model_cells(base: TrainConfig, models: Sequence[str], seeds: Sequence[int]) -> list[SweepCell]:
    """The models × seeds grid; config index i is models[i]. The scale
    settings of `base` apply to the models that have internal scales."""
    _check_unique("model", models)
    _check_unique("seed", seeds)
    cells: list[SweepCell] = []
    for index, model in enumerate(models):
        config = base.replace(model=model)
        if model_spec(model).mode is None:
            config = config.replace(**dict.fromkeys(config.model_options()))
        cells.extend(SweepCell(f"{model}_seed{seed}", config.replace(seed=int(seed)), index) for seed in seeds)
    return cells


def _check_unique(name: str, values: Sequence) -> None:
    if not values:
        raise InputError(f"the sweep needs at least one {name}")
    repeated = sorted(str(v) for v, count in Counter(values).items() if count > 1)
    if repeated:
        raise fail(f"{name}s of the sweep", list(values), f"distinct ({', '.join(repeated)} repeated)")


def run_sweep(
    cells: Sequence[SweepCell],
    out_dir: str | Path,
    *,
    on_cell: Callable[[SweepCell, bool], None] | None = None,
    **train_options,
) -> xr.Dataset:
    """Train every cell not yet finished, one after another, and merge all
    into OUT/results.nc.

    train_options go to `sesn.train.loop.train` (mnist, data_root, device,
    progress, on_batch). on_cell(cell, trained) is called after each cell,
    trained False when its results were already there. Returns the merge."""
    out_dir = Path(out_dir)
    parts = []
    for cell in cells:
        finished = is_finished(cell, out_dir)
        if not finished:
            train_cell(cell, out_dir, **train_options)
        parts.append(cell_results(cell, out_dir))
        write_merged(parts, out_dir)
        if on_cell is not None:
            on_cell(cell, not finished)
    return merge_results(parts)


def cell_dir(cell: SweepCell, out_dir: str | Path) -> Path:
    """The folder OUT/cells/<name>/ that `cell` trains in."""
    return Path(out_dir) / CELLS_DIR / cell.name


def is_finished(cell: SweepCell, out_dir: str | Path) -> bool:
    """Whether `cell` has its results in OUT; a finished run of another
    config there is an InputError."""
    folder = cell_dir(cell, out_dir)
    if not (folder / RESULTS_FILE).is_file():
        return False
    saved = folder / CONFIG_FILE
    if not (saved.is_file() and TrainConfig.load(saved) == cell.config):
        raise InputError(f"{folder} holds a finished run with a different config; use another output directory")
    return True


def train_cell(cell: SweepCell, out_dir: str | Path, **train_options) -> None:
    """Train `cell` in its folder, resuming from its checkpoint if it was cut
    off (train_options as for `run_sweep`). Writes nothing outside the folder."""
    train(cell.config, cell_dir(cell, out_dir), resume=True, **train_options)


def cell_results(cell: SweepCell, out_dir: str | Path) -> xr.Dataset:
    """The results of a finished cell, labelled as its entry of the sweep's grid."""
    run = read_results(cell_dir(cell, out_dir) / RESULTS_FILE)
    return run if cell.index is None else as_config_cell(run, cell.index, **cell.labels)


def write_merged(parts: Sequence[xr.Dataset], out_dir: str | Path) -> Path:
    """Merge the cells' `parts` (in the order of the sweep's cells) into
    OUT/results.nc, atomically."""
    return write_results(merge_results(list(parts)), Path(out_dir) / RESULTS_FILE)
