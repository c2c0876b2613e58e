"""`tolcli evaluate`: test error per data scale of a trained run (thesis Fig. 4)."""

from __future__ import annotations

import json

import click

from cli.errors import require_torch
from cli.options import runtime_options


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--eval-range",
    type=(float, float),
    default=None,
    metavar="LO HI",
    help="Data scales to evaluate, magnification factors [default: the run's].",
)
@click.option("--eval-per-octave", type=float, default=None, help="Steps per octave [default: the run's].")
@click.option("--eval-limit", type=int, default=None, help="Test digits shown at every scale [default: the run's].")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the results (netCDF) here.")
@runtime_options()
def evaluate(run_dir, eval_range, eval_per_octave, eval_limit, out, data_root, device, quiet, as_json):
    """Evaluate the best-validation model of the run in RUN_DIR (made by
    `tolcli train`, finished or not) with every test digit at each scale of
    a log-spaced grid, and print the error per data scale."""
    require_torch()
    from scaletol.results import per_scale_errors, per_scale_report, write_results
    from sesn.train.loop import evaluate_run

    results = evaluate_run(
        run_dir,
        eval_range=eval_range,
        eval_per_octave=eval_per_octave,
        eval_limit=eval_limit,
        data_root=data_root,
        device=device,
        progress=not quiet,
    )
    if out is not None:
        write_results(results, out)
    click.echo(json.dumps({"run": str(run_dir), **per_scale_errors(results)}) if as_json else per_scale_report(results))
