"""`tolcli sweep`: a resumable grid of training runs merged into one results
file (ISR × seeds × data ranges for one model, or models × seeds)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli.errors import require_torch
from cli.options import NumberList, runtime_options
from cli.train import config_changes, config_options, model_help, shown
from scaletol.datasets import DATASETS
from sesn.train.config import TrainConfig


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
def sweep(model, isrs, isr_grid, ranges, models, seeds, out, data_root, device, quiet, as_json, **options):
    """Train every cell of a grid not yet finished in OUT (cut-off cells
    resume) and merge all cells into OUT/results.nc after each one.

    \b
    ISR sweep (thesis Fig. 3): --model toy-fixed --isr-grid 1.5 7.65 15 --range 1 2.83 --range 1 8
    models sweep (Table 5):    --models mnist-scale-cnn,mnist-scale-sesn --dataset mnist-scale
    """
    require_torch()
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

    trained = []
    results = run_sweep(
        cells,
        out,
        data_root=data_root,
        device=device,
        progress=not quiet,
        on_cell=lambda cell, fresh: trained.append(fresh),
    )
    path, table = Path(out) / RESULTS_FILE, sweep_summary(results)
    if as_json:
        report = {"out": str(path), "cells": len(cells), "trained": sum(trained), "summary": table_records(table)}
        click.echo(json.dumps(report))
    else:
        click.echo(f"{len(cells)} cells, {sum(trained)} trained now; merged into {path}")
        click.echo(table.to_string(float_format=lambda v: f"{v:.3f}"))
