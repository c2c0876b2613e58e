"""`tolcli suggest`: internal scales (σ_basis, ISR, c_ref) for a data scale distribution.

Also defines the distribution options shared with `tolcli fit-tau`. Heavy
modules (matplotlib) load only for --plot, so the command starts fast.
"""

from __future__ import annotations

import json

import click

from cli.errors import reject_given
from tolerance import fit
from tolerance.distributions import NAMES, make_distributions
from tolerance.kl import DIRECTIONS
from tolerance.padding import DEFAULT_PADDING
from tolerance.result import NsScan, Suggestion, suggestion_table


class NsType(click.ParamType):
    """An integer N_S >= 1, or 'auto'."""

    name = "N_S|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value == "auto":
            return value
        try:
            number = int(value)
        except ValueError:
            self.fail(f"{value!r} is not an integer >= 1 or 'auto'", param, ctx)
        if number < 1:
            self.fail(f"{value!r} is not an integer >= 1 or 'auto'", param, ctx)
        return number


def distribution_options(command):
    """Add --dist/--range/--std/--file/--column/--padding/--kl-direction/--sigma-unit."""
    options = [
        click.option(
            "--dist",
            "dist_names",
            type=click.Choice(NAMES),
            multiple=True,
            help="Data scale distribution; repeat with --range for several (one --dist applies to every --range).",
        ),
        click.option(
            "--range",
            "ranges",
            type=(float, float),
            multiple=True,
            metavar="LO HI",
            help="Data scale range: magnification factors, 0 < LO < HI (repeatable).",
        ),
        click.option(
            "--std",
            type=float,
            default=None,
            help="Spread: octaves for lognormal, scale units for truncnormal "
            "(default: a quarter of the range's width).",
        ),
        click.option(
            "--file",
            "scale_file",
            type=click.Path(dir_okay=False),
            default=None,
            help="empirical: observed scales, one number per line or a CSV column.",
        ),
        click.option("--column", default=None, help="empirical: the CSV column holding the scales."),
        click.option(
            "--padding",
            type=float,
            default=DEFAULT_PADDING,
            show_default=True,
            help="Half-normal tail width past bounded data [octaves].",
        ),
        click.option(
            "--kl-direction",
            type=click.Choice(DIRECTIONS),
            default="model-data",
            show_default=True,
            help="model-data is KL(model||data), the thesis's fit; data-model the reverse.",
        ),
        click.option(
            "--sigma-unit",
            type=float,
            default=fit.DEFAULT_SIGMA_UNIT,
            show_default=True,
            help="Basis sigma [px] that suits data scale 1; sigma_basis = sigma_unit * c_ref.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def output_options(command):
    """Add --json and --plot."""
    command = click.option(
        "--plot",
        "plot_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="Also write a figure to this file (e.g. fig.png).",
    )(command)
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")(command)


def check_plot_path(path: str | None) -> None:
    """Fail before any work if the figure could not be written."""
    if path is not None:
        from scaletol.figures import figure_format

        figure_format(path)


def write_plot(path: str, draw, panels: int) -> None:
    """Draw with `draw(axes)` on a new figure of `panels` axes and save it to `path`."""
    from scaletol.figures import save_figure
    from tolerance.plot import figure_with_axes

    figure, axes = figure_with_axes(panels)
    draw(axes)
    save_figure(figure, path)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@distribution_options
@click.option(
    "--ns",
    type=NsType(),
    default=3,
    show_default=True,
    help=f"Number of internal scales, or 'auto' (tries 1..{fit.NS_MAX}; see --ns-tolerance).",
)
@click.option(
    "--ns-tolerance",
    type=float,
    default=fit.NS_TOLERANCE,
    show_default=True,
    help="--ns auto picks the smallest N_S whose KL is within this many nats of the best.",
)
@click.option(
    "--tau",
    type=float,
    default=fit.DEFAULT_TAU,
    show_default=True,
    help="Tolerance of each internal scale: std on the log2 axis [octaves].",
)
@click.option("--isr", type=float, default=None, help="Fix the internal scale range (largest/smallest scale).")
@click.option(
    "--c-ref", type=float, default=None, help="Fix c_ref, the data scale served by the smallest internal scale."
)
@output_options
def suggest(
    dist_names,
    ranges,
    std,
    scale_file,
    column,
    padding,
    kl_direction,
    sigma_unit,
    ns,
    ns_tolerance,
    tau,
    isr,
    c_ref,
    as_json,
    plot_path,
):
    """Suggest internal scales for a data scale distribution.

    Fits the tolerance model (one normal of std TAU octaves per internal scale
    on the log2 scale axis) to the padded data density and prints c_ref (data
    scale of the smallest internal scale), ISR, sigma_basis [px], the internal
    scales in data-scale units and the KL divergence. With several
    distributions, each gets its own suggestion (--json prints
    {"inputs": [...]}).

    Example: tolcli suggest --dist loguniform --range 1 8 --ns 3
    """
    check_plot_path(plot_path)
    if ns != "auto":
        reject_given(["ns_tolerance"], "applies to --ns auto only")
    dists = make_distributions(dist_names, ranges, std=std, file=scale_file, column=column)
    options = dict(tau=tau, c_ref=c_ref, sigma_unit=sigma_unit, direction=kl_direction, padding=padding)
    results: list[NsScan] | list[Suggestion]
    if ns == "auto":
        results = [fit.suggest_ns(dist, tolerance=ns_tolerance, isr=isr, **options) for dist in dists]
        suggestions = [scan.chosen for scan in results]
    else:
        results = suggestions = [fit.suggest(dist, ns, isr=isr, **options) for dist in dists]

    if plot_path is not None:
        _plot(plot_path, results, suggestions, auto=ns == "auto")
    if as_json:
        objects = [result.to_dict() for result in results]
        click.echo(json.dumps(objects[0] if len(objects) == 1 else {"inputs": objects}, indent=2, allow_nan=False))
    elif ns == "auto":
        click.echo("\n\n".join(scan.report() for scan in results))
    else:
        click.echo(suggestion_table(suggestions))


def _plot(path, results, suggestions, *, auto: bool) -> None:
    from tolerance.plot import plot_ns_scan, plot_suggestions

    if auto and len(results) == 1:

        def draw(axes):
            plot_suggestions(suggestions, axes[:1])
            plot_ns_scan(results[0], axes[1])

        write_plot(path, draw, 2)
    else:
        write_plot(path, lambda axes: plot_suggestions(suggestions, axes), len(suggestions))
