"""`tolcli validate`: the tolerance model's suggested ISR next to the best
ISR of a training sweep (thesis §4.1.1), with Fig. 3 and Fig. 4."""

from __future__ import annotations

import json

import click

from cli.options import figure_option, json_option
from tolerance.fit import DEFAULT_TAU


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("results", type=click.Path(dir_okay=False))
@click.option(
    "--tau",
    type=float,
    default=DEFAULT_TAU,
    show_default=True,
    help="Tolerance std of each internal scale, octaves (thesis combined fit).",
)
@click.option("--ns", type=int, default=None, help="Number of internal scales [default: the sweep's].")
@click.option("--sigma-unit", type=float, default=None, help="Basis σ [px] for data scale 1 [default: the sweep's].")
@figure_option("--fig3", "fig3", "Write test error vs ISR here")
@figure_option("--fig4", "fig4", "Write test error per data scale here, one panel per range")
@json_option()
def validate(results, tau, ns, sigma_unit, fig3, fig4, as_json):
    """For each data range of the ISR sweep in RESULTS (from `tolcli sweep`),
    print the ISR the tolerance model suggests beside the swept ISR with the
    lowest mean test error."""
    from scaletol.results import by_range, read_results, table_records
    from tolerance.validation import compare_with_tolerance, validation_report

    ds = read_results(results)
    table = compare_with_tolerance(ds, tau=tau, ns=ns, sigma_unit=sigma_unit)
    if fig3 or fig4:
        _figures(by_range(ds), table, fig3, fig4)
    if as_json:
        click.echo(json.dumps({"results": results, "tau": tau, "ranges": table_records(table)}))
    else:
        click.echo(validation_report(table, tau=tau, source=results))


def _figures(parts, table, fig3: str | None, fig4: str | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from scaletol.figures import plot_error_per_scale_by_range, plot_error_vs_isr, save_figure

    if fig3:
        suggested = {(r.range_lo, r.range_hi): r.suggested_isr for r in table.itertuples()}
        save_figure(plot_error_vs_isr(parts, suggested).figure, fig3)
    if fig4:
        save_figure(plot_error_per_scale_by_range(parts)[0].figure, fig4)
