"""`tolcli suggest`: internal scales (σ_basis, ISR, c_ref) for a data scale distribution.

Also defines the distribution options shared with `tolcli fit-tau`. Heavy
modules (matplotlib) load only for --plot, so the command starts fast.
"""

from __future__ import annotations

import json
import os

import click

from cli.errors import reject_given
from cli.options import figure_option, json_option
from scaletol.checks import InputError, check_int, check_positive
from tolerance import bootstrap, fit
from tolerance.boxes import summary_text
from tolerance.distributions import NAMES, make_distributions
from tolerance.empirical import Empirical
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


def box_options(command):
    """Add --boxes/--category/--image-size/--ref-size and --bootstrap/--seed/--quiet (suggest only)."""
    options = [
        click.option(
            "--boxes",
            "boxes_path",
            type=click.Path(exists=True),
            default=None,
            metavar="FILE|FOLDER",
            help="empirical: object sizes from annotations: a COCO .json file, a YOLO label folder "
            "or a .csv with width,height [px]; size = sqrt(w*h).",
        ),
        click.option(
            "--category",
            "categories",
            multiple=True,
            metavar="NAME",
            help="--boxes COCO: keep only this category name (repeatable).",
        ),
        click.option(
            "--image-size",
            type=float,
            default=None,
            metavar="PX",
            help="--boxes YOLO: side [px] of the image the network sees (YOLO boxes are normalised).",
        ),
        click.option(
            "--ref-size",
            type=float,
            default=None,
            metavar="PX",
            help="--boxes: object size [px] that sigma_unit suits; data scale = size / ref-size.",
        ),
        click.option(
            "--bootstrap",
            "resamples",
            type=int,
            default=None,
            metavar="N",
            help=f"empirical: refit on N resamples of the observations and report 2.5-97.5 % intervals "
            f"of c_ref, ISR and sigma_basis (N in [{bootstrap.MIN_RESAMPLES}, {bootstrap.MAX_RESAMPLES}]).",
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="--bootstrap: seed of the resampling."),
        click.option("--quiet", is_flag=True, help="No progress bar on stderr."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def output_options(command):
    """Add --json and --plot (the shared options of cli.options)."""
    command = figure_option("--plot", "plot_path", "Also write a figure to this file")(command)
    return json_option()(command)


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
@box_options
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
    boxes_path,
    categories,
    image_size,
    ref_size,
    resamples,
    seed,
    quiet,
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

    Observed scales (--dist empirical) come from --file or, as object sizes,
    from annotation boxes (--boxes with --ref-size); --bootstrap N tells how
    firm the suggestion from them is.

    Example: tolcli suggest --dist loguniform --range 1 8 --ns 3
    """
    if ns != "auto":
        reject_given(["ns_tolerance"], "applies to --ns auto only")
    check_bootstrap_options(dist_names, resamples, seed)
    if boxes_path is None:
        check_box_options_unused(categories, image_size, ref_size)
        dists = make_distributions(dist_names, ranges, std=std, file=scale_file, column=column)
        box_summary = None
    else:
        dists, box_summary = _box_distribution(
            dist_names, ranges, scale_file, column, boxes_path, categories, image_size, ref_size
        )
        if not as_json:
            click.echo(summary_text(box_summary) + "\n")
    if not as_json and isinstance(dists[0], Empirical):
        click.echo(dists[0].summary())
    options = dict(tau=tau, c_ref=c_ref, sigma_unit=sigma_unit, direction=kl_direction, padding=padding)
    results: list[NsScan] | list[Suggestion]
    if ns == "auto":
        results = [fit.suggest_ns(dist, tolerance=ns_tolerance, isr=isr, **options) for dist in dists]
        suggestions = [scan.chosen for scan in results]
    else:
        results = suggestions = [fit.suggest(dist, ns, isr=isr, **options) for dist in dists]

    intervals = None
    if resamples is not None:
        intervals = bootstrap.bootstrap(suggestions[0], resamples, seed=seed, progress=not (quiet or as_json))
    if plot_path is not None:
        _plot(plot_path, results, suggestions, auto=ns == "auto")
    if as_json:
        objects = [result.to_dict() for result in results]
        if box_summary is not None:
            objects[0]["boxes"] = box_summary
        if intervals is not None:
            objects[0]["bootstrap"] = intervals.to_dict()
        click.echo(json.dumps(objects[0] if len(objects) == 1 else {"inputs": objects}, indent=2, allow_nan=False))
        return
    if ns == "auto":
        click.echo("\n\n".join(scan.report() for scan in results))
    else:
        click.echo(suggestion_table(suggestions))
    if intervals is not None:
        click.echo("\n" + intervals.report())


def check_bootstrap_options(dist_names, resamples, seed) -> None:
    """--bootstrap needs --dist empirical; --seed applies to --bootstrap only."""
    if resamples is None:
        if seed != 0:
            raise InputError(f"--seed={seed} applies to --bootstrap only")
        return
    if list(dist_names) != ["empirical"]:
        raise InputError(f"--bootstrap={resamples} resamples observations: it needs --dist empirical")
    check_int("--bootstrap", resamples, low=bootstrap.MIN_RESAMPLES, high=bootstrap.MAX_RESAMPLES)
    check_int("--seed", seed, low=0)


def check_box_options_unused(categories, image_size, ref_size) -> None:
    """--category, --image-size and --ref-size apply to --boxes only."""
    given = (("--category", list(categories) or None), ("--image-size", image_size), ("--ref-size", ref_size))
    for name, value in given:
        if value is not None:
            raise InputError(f"{name}={value!r} applies to --boxes only")


def _box_distribution(dist_names, ranges, scale_file, column, path, categories, image_size, ref_size):
    """([Empirical of the box scales], summary dict) for --boxes; InputError for options that clash."""
    from tolerance.boxes import boxes_summary, data_scales, read_boxes

    if list(dist_names) != ["empirical"] or ranges:
        raise InputError(f"--boxes={path!r} gives observed scales: use it with --dist empirical and no --range")
    if scale_file is not None or column is not None:
        raise InputError(f"--boxes={path!r} and --file/--column are two sources of scales: give one")
    if ref_size is None:
        raise InputError(f"--boxes={path!r} needs --ref-size PX, the object size sigma_unit suits")
    ref_size = check_positive("--ref-size", ref_size)
    sizes = read_boxes(path, categories=categories, image_size=image_size)
    try:
        dist = Empirical(data_scales(sizes, ref_size), source=os.fspath(path))
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    return [dist], boxes_summary(sizes, ref_size, source=os.fspath(path))


def _plot(path, results, suggestions, *, auto: bool) -> None:
    from tolerance.plot import plot_ns_scan, plot_observed, plot_suggestions

    if isinstance(suggestions[0].dist, Empirical):

        def draw(axes):
            plot_observed(suggestions[0], axes[0])
            if auto:
                plot_ns_scan(results[0], axes[1])

        write_plot(path, draw, 2 if auto else 1)
    elif auto and len(results) == 1:

        def draw(axes):
            plot_suggestions(suggestions, axes[:1])
            plot_ns_scan(results[0], axes[1])

        write_plot(path, draw, 2)
    else:
        write_plot(path, lambda axes: plot_suggestions(suggestions, axes), len(suggestions))
