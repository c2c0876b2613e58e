"""`tolcli validate`: the tolerance model's suggested ISR next to the best
ISR of a training sweep (thesis §4.1.1), with Fig. 3 and Fig. 4."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from tolerance.fit import DEFAULT_TAU


def _writable(path: str | None) -> None:
    if path is not None and not Path(path).parent.is_dir():
        raise click.BadParameter(f"folder of {path!r} does not exist")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("results", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--tau",
    type=float,
    default=DEFAULT_TAU,
    show_default=True,
    help="Tolerance std of each internal scale, octaves (thesis combined fit).",
)
@click.option("--ns", type=int, default=None, help="Number of internal scales [default: the sweep's].")
@click.option("--sigma-unit", type=float, default=None, help="Basis σ [px] for data scale 1 [default: the sweep's].")
@click.option("--fig3", type=click.Path(dir_okay=False), default=None, help="Write test error vs ISR here (.png/.pdf).")
@click.option(
    "--fig4",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write test error per data scale here, one panel per range.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def validate(results, tau, ns, sigma_unit, fig3, fig4, as_json):
    """For each data range of the ISR sweep in RESULTS (from `tolcli sweep`),
    print the ISR the tolerance model suggests beside the swept ISR with the
    lowest mean test error."""
    from scaletol.results import by_range, read_results
    from tolerance.validation import compare_with_tolerance

    for path in (fig3, fig4):
        _writable(path)
    ds = read_results(results)
    table = compare_with_tolerance(ds, tau=tau, ns=ns, sigma_unit=sigma_unit)
    if fig3 or fig4:
        _figures(by_range(ds), table, fig3, fig4)
    if as_json:
        rows = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in table.to_dict("records")
        ]
        click.echo(json.dumps({"results": results, "tau": tau, "ranges": rows}))
        return
    click.echo(f"tolerance model at tau = {tau:g} octaves vs. the sweep in {results}")
    click.echo(
        f"{'range':>12}  {'suggested ISR':>13}  {'σ_basis px':>10}  {'best ISR':>8}  "
        f"{'error %':>14}  {'nearest ISR':>11}  {'error %':>7}"
    )
    for row in table.itertuples():
        spread = "" if math.isnan(row.best_error_std) else f" ± {row.best_error_std:4.2f}"  # one seed: none
        click.echo(
            f"{f'[{row.range_lo:.3g}, {row.range_hi:.3g}]':>12}  {row.suggested_isr:13.3f}  "
            f"{row.suggested_sigma_basis:10.3f}  {row.best_isr:8.3f}  "
            f"{f'{row.best_error:7.3f}{spread}':>14}  {row.nearest_isr:11.3f}  "
            f"{row.nearest_error:7.3f}"
        )


def _figures(parts, table, fig3: str | None, fig4: str | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scaletol.figures import plot_error_per_scale, plot_error_vs_isr, save_figure

    if fig3:
        suggested = {(r.range_lo, r.range_hi): r.suggested_isr for r in table.itertuples()}
        fig, ax = plt.subplots(figsize=(5, 3.5))
        plot_error_vs_isr(parts, suggested, ax=ax)
        save_figure(fig, fig3)
    if fig4:
        fig, axes = plt.subplots(1, len(parts), figsize=(4.5 * len(parts), 3.5), squeeze=False)
        for ax, (bounds, grid) in zip(axes[0], parts):
            plot_error_per_scale(grid, bounds, ax=ax)
        save_figure(fig, fig4)
