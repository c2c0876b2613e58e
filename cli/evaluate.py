"""`tolcli evaluate`: test error per data scale of a trained run (thesis Fig. 4)."""

from __future__ import annotations

import json
import math

import click

from cli.errors import require_torch


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--eval-range",
    type=(float, float),
    default=None,
    metavar="LO HI",
    help="Data scales to evaluate, magnification factors [default: the run's].",
)
@click.option("--eval-per-octave", type=float, default=None, help="Steps per octave [default: the run's].")
@click.option("--eval-limit", type=int, default=None, help="Test digits shown at every scale [default: the run's].")
@click.option(
    "--data",
    "data_root",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder with the MNIST IDX gz files [default: $SCALETOL_DATA].",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the results (netCDF) here.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def evaluate(run_dir, eval_range, eval_per_octave, eval_limit, data_root, device, out, quiet, as_json):
    """Evaluate the best-validation model of the run in RUN_DIR (made by
    `tolcli train`, finished or not) with every test digit at each scale of
    a log-spaced grid, and print the error per data scale."""
    require_torch()
    from scaletol.results import write_results
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
    errors = results["error"].squeeze(("seed", "isr"))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run": str(run_dir),
                    "test_error": float(results["test_error"].item()),
                    "data_scale": results["data_scale"].values.tolist(),
                    "error": errors.values.tolist(),
                    "n": results["n"].values.tolist(),
                }
            )
        )
        return
    click.echo(f"test error {100 * float(results['test_error'].item()):.3f} % on the run's test split")
    click.echo(f"{'data scale':>10}  {'log2':>6}  {'error %':>8}  {'n':>6}")
    for scale, error, n in zip(results["data_scale"].values, errors.values, results["n"].values):
        click.echo(f"{scale:10.4f}  {math.log2(scale):6.2f}  {100 * error:8.3f}  {n:6d}")
