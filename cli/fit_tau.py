"""`tolcli fit-tau`: the tolerance τ, from several distributions at once or from recorded errors."""

from __future__ import annotations

import json

import click

from cli.errors import reject_given
from cli.suggest import distribution_options, output_options, write_plot
from tolerance.distributions import make_distributions

# Options of the combined fit that mean nothing for --errors.
DISTRIBUTION_ONLY = ["dist_names", "ranges", "std", "scale_file", "column", "padding", "kl_direction", "ns"]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@distribution_options
@click.option(
    "--ns",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Number of internal scales of every model (combined fit).",
)
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Recorded per-scale errors: a CSV (data_scale; one of error, error_pct, accuracy; isr, ns, "
    "c_ref or sigma_basis [+ sigma_unit]; optional model, seed, n) or a results .nc file.",
)
@output_options
def fit_tau(
    dist_names, ranges, std, scale_file, column, padding, kl_direction, sigma_unit, ns, errors_path, as_json, plot_path
):
    """Fit the tolerance tau [octaves].

    With repeated --dist/--range: one tau shared by all distributions, with
    their own c_ref and ISR (the thesis's combined fit, KL by default
    model-data). With --errors FILE: tau from trained models' test errors
    per data scale, error(s) = floor + gain * (1 - coverage(s)), with a
    standard error (see tolerance.errors_fit); rows with an n column are
    weighted by their binomial variance.

    Example: tolcli fit-tau --dist loguniform --range 1 2.83 --range 1 4.76 --range 1 8
    """
    if errors_path is not None:
        if dist_names or ranges:
            raise click.UsageError("give either --dist/--range (combined fit) or --errors FILE, not both")
        reject_given(DISTRIBUTION_ONLY, "applies to the combined fit (--dist/--range), not to --errors")
        result, draw, panels = _from_errors(errors_path, sigma_unit)
    else:
        from tolerance.fit import combined_fit
        from tolerance.plot import plot_combined

        dists = make_distributions(dist_names, ranges, std=std, file=scale_file, column=column)
        result = combined_fit(dists, ns, sigma_unit=sigma_unit, direction=kl_direction, padding=padding)
        draw, panels = (lambda axes: plot_combined(result, axes)), len(dists)
    if plot_path is not None:
        write_plot(plot_path, draw, panels)
    click.echo(json.dumps(result.to_dict(), indent=2, allow_nan=False) if as_json else result.report())


def _from_errors(path, sigma_unit):
    from tolerance.errors_fit import fit_tau_from_errors
    from tolerance.errors_io import read_errors
    from tolerance.plot import plot_errors_fit

    result = fit_tau_from_errors(read_errors(path, sigma_unit=sigma_unit))
    return result, (lambda axes: plot_errors_fit(result, axes[0])), 1
