"""`tolcli sweep`: a resumable grid of training runs merged into one results
file (ISR × seeds × data ranges for one model, or models × seeds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.errors import reject_given, require_dask, require_torch
from cli.options import NumberList, runtime_options
from cli.train import config_changes, config_options, model_help, shown
from scaletol.datasets import DATASETS
from sesn.train.config import TrainConfig

if TYPE_CHECKING:
    import xarray as xr


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", default=None, help=model_help("ISR sweep: the model"))
@click.option("--isr", "isrs", type=float, multiple=True, help="ISR sweep: one fixed/initial ISR (repeat).")
@click.option(
    "--isr-grid",
    type=(float, float, int),
    default=None,
    metavar="LO HI N",
    help="ISR sweep: N ISRs log-spaced from LO to HI (thesis: 1.5 7.65 15).",
)
@click.option(
    "--range",
    "ranges",
    type=(float, float),
    multiple=True,
    metavar="LO HI",
    help=f"ISR sweep: a data scale range (repeat) [default: {shown(DATASETS['dynamic-mnist'].range)}].",
)
@click.option("--models", default=None, help="Models sweep: comma-separated model names.")
@click.option("--seeds", type=NumberList(int, minimum=0), default="0", show_default=True, help="Seeds, e.g. 0,1,2.")
@config_options()
@runtime_options()
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    required=True,
    help="Sweep directory: cells/<run>/ and the merged results.nc.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run the cells as tasks on this running Dask scheduler (e.g. tcp://node:8786).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    metavar="N",
    default=None,
    help="Run the cells as tasks on a local Dask cluster of N worker processes (one per GPU on CUDA).",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    metavar="N",
    default=2,
    show_default=True,
    help="With --scheduler/--workers: tries of a failed cell beyond the first (each resumes its checkpoint).",
)
def sweep(
    model,
    isrs,
    isr_grid,
    ranges,
    models,
    seeds,
    out,
    scheduler,
    workers,
    retries,
    data_root,
    device,
    quiet,
    as_json,
    **options,
):
    """Train every cell of a grid not yet finished in OUT (cut-off cells
    resume) and merge all cells into OUT/results.nc after each one.

    \b
    ISR sweep (thesis Fig. 3): --model toy-fixed --isr-grid 1.5 7.65 15 --range 1 2.83 --range 1 8
    models sweep (Table 5):    --models mnist-scale-cnn,mnist-scale-sesn --dataset mnist-scale

    With --scheduler or --workers (needs scaletol[cluster]) every unfinished
    cell is one Dask task; cells that fail every try are named at the end and
    the exit status is 1.
    """
    require_torch()
    if scheduler is not None and workers is not None:
        raise click.UsageError("give --scheduler or --workers, not both")
    if scheduler is None and workers is None:
        reject_given(["retries"], "applies to --scheduler and --workers only")
    else:
        require_dask("--scheduler/--workers")
    from scaletol.results import sweep_summary, table_records
    from sesn.train.loop import RESULTS_FILE
    from sesn.train.sweep import isr_cells, model_cells, run_sweep
    from sesn.train.sweep import isr_grid as log_spaced

    changes = config_changes(options)
    if models is not None:
        if model or isrs or isr_grid or ranges:
            raise click.UsageError("--models sweeps models × seeds: drop --model, --isr, --isr-grid and --range")
        names = [m.strip() for m in models.split(",") if m.strip()]
        if not names:
            raise click.BadParameter(f"{models!r} names no model", param_hint="--models")
        cells = model_cells(TrainConfig(**changes, model=names[0]), names, seeds)
    else:
        if model is None:
            raise click.UsageError("give --model with --isr/--isr-grid, or --models")
        if bool(isrs) == (isr_grid is not None):
            raise click.UsageError("give the ISRs with --isr (repeated) or --isr-grid LO HI N, not both")
        base = TrainConfig(**changes, model=model)
        cells = isr_cells(base, list(isrs) if isrs else log_spaced(*isr_grid), seeds, list(ranges) or [base.range])

    trained: list[bool] = []
    options = dict(data_root=data_root, device=device, on_cell=lambda cell, fresh: trained.append(fresh))
    failed: dict[str, str] = {}
    results: xr.Dataset | None
    if scheduler is None and workers is None:
        results = run_sweep(cells, out, progress=not quiet, **options)
    else:
        from sesn.train.cluster import CellsFailed, run_cluster_sweep

        try:
            results = run_cluster_sweep(
                cells, out, scheduler=scheduler, workers=workers, retries=retries, progress=not quiet, **options
            )
        except CellsFailed as exc:
            results, failed = exc.results, exc.failed
    path = Path(out) / RESULTS_FILE
    table = sweep_summary(results) if results is not None else None
    if as_json:
        report = {"out": str(path), "cells": len(cells), "trained": sum(trained), "failed": failed}
        report["summary"] = table_records(table) if table is not None else []
        click.echo(json.dumps(report))
    else:
        click.echo(f"{len(cells)} cells, {sum(trained)} trained now; merged into {path}")
        if table is not None:
            click.echo(table.to_string(float_format=lambda v: f"{v:.3f}"))
    if failed:
        for name, error in failed.items():
            click.echo(f"tolcli: cell {name} failed every try: {error}", err=True)
        click.get_current_context().exit(1)
