"""`tolcli data`: build (or load from the cache) a realisation of the thesis's
datasets, fingerprint it, and preview it. torch and matplotlib load only
inside the commands."""

from __future__ import annotations

import json

import click

from cli.errors import require_torch
from cli.options import FigurePath, data_option, json_option, per_dataset, stack
from scaletol.datasets import DATASETS, NAMES
from tolerance.distributions import NAMES as DIST_NAMES
from tolerance.distributions import make_distribution


def dataset_options():
    """The options that choose a dataset realisation and where MNIST is."""
    return stack(
        click.option("--dataset", type=click.Choice(NAMES), required=True, help="Which dataset."),
        click.option(
            "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Realisation (split and scales)."
        ),
        click.option(
            "--dist",
            "dist_name",
            type=click.Choice(DIST_NAMES),
            default=None,
            help="dynamic-mnist: data scale distribution.",
        ),
        click.option(
            "--range",
            "scale_range",
            type=(float, float),
            default=None,
            metavar="LO HI",
            help="dynamic-mnist: data scale range, magnification factors, 0 < LO < HI.",
        ),
        click.option(
            "--std",
            type=float,
            default=None,
            help="dynamic-mnist: spread, octaves for lognormal, scale units for truncnormal.",
        ),
        click.option(
            "--file",
            "scale_file",
            type=click.Path(dir_okay=False),
            default=None,
            help="dynamic-mnist with --dist empirical: observed scales.",
        ),
        click.option("--column", default=None, help="empirical: the CSV column holding the scales."),
        click.option(
            "--sizes",
            type=(int, int, int),
            default=None,
            metavar="TRAIN VAL TEST",
            help=f"Split sizes [default: {per_dataset(lambda d: d.sizes)}].",
        ),
        click.option("--augment", is_flag=True, help='mnist-scale: the "+" variant (train-time rescaling).'),
        data_option(),
        click.option(
            "--download", is_flag=True, help="Fetch missing MNIST files (into --data, $SCALETOL_DATA or the cache)."
        ),
    )


@click.group()
def data():
    """Build, fingerprint and preview the datasets (Dynamic Scale MNIST, MNIST-Scale)."""


@data.command()
@dataset_options()
@json_option()
def make(as_json, **options):
    """Build or load a realisation and print its split sizes and SHA-256 sums."""
    splits, dist = _build(**options)
    if as_json:
        setting = {k: options[k] for k in ("dataset", "seed", "augment")}
        summary = {**setting, "dist": dist.to_dict() if dist is not None else None, **splits.to_dict()}
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(splits.report(_title(options, None)))


@data.command()
@dataset_options()
@click.option("--out", type=FigurePath(), required=True, help="Image file to write, e.g. preview.png.")
@click.option(
    "--scale",
    "scales",
    type=float,
    multiple=True,
    help=f"Data scale of a column (repeatable) [default: {per_dataset(lambda d: d.preview_scales)}].",
)
@click.option("--count", type=click.IntRange(min=1), default=4, show_default=True, help="Digits (rows).")
def preview(out, scales, count, **options):
    """Draw training digits as served and at several data scales."""
    splits, dist = _build(**options)
    from scaletol.figures import save_figure
    from sesn.data.preview import preview_figure

    columns = scales or DATASETS[options["dataset"]].preview_scales
    save_figure(preview_figure(splits.train, columns, count=count, title=_title(options, dist)), out)
    click.echo(f"wrote {out}")


def _title(options: dict, dist) -> str:
    title = f"{options['dataset']}{'+' if options['augment'] else ''}, seed {options['seed']}"
    return title if dist is None else f"{title}, {dist!r}"


def _build(dataset, seed, dist_name, scale_range, std, scale_file, column, sizes, augment, data_root, download):
    """(Splits, distribution or None); the distribution is checked before MNIST is read."""
    dist = None
    if dataset == "dynamic-mnist":
        if dist_name is None:
            raise click.UsageError("dynamic-mnist needs --dist (and --range LO HI)")
        lo, hi = scale_range if scale_range else (None, None)
        dist = make_distribution(dist_name, lo, hi, std=std, file=scale_file, column=column)
    elif any(value is not None for value in (dist_name, scale_range, std, scale_file, column)):
        raise click.UsageError("mnist-scale has its own scale distribution: drop --dist/--range/--std/--file/--column")
    require_torch()
    from sesn.data.mnist import load_mnist
    from sesn.data.registry import build_dataset

    mnist = load_mnist(data_root, download=download)
    return build_dataset(dataset, mnist=mnist, seed=seed, dist=dist, sizes=sizes, augment=augment), dist
