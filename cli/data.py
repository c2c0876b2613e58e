"""`tolcli data`: build (or load from the cache) a realisation of the thesis's
datasets, fingerprint it, and preview it. torch and matplotlib load only
inside the commands."""

from __future__ import annotations

import json
import os

import click

from cli.errors import require_torch
from tolerance.distributions import NAMES as DIST_NAMES
from tolerance.distributions import make_distribution

DATASETS = ("dynamic-mnist", "mnist-scale")
PREVIEW_SCALES = {"dynamic-mnist": (2**-0.5, 1.0, 2.0, 4.0, 8.0), "mnist-scale": (0.3, 0.5, 0.7, 1.0)}


def dataset_options(command):
    """Add the options that choose a dataset realisation and where MNIST is."""
    options = [
        click.option("--dataset", type=click.Choice(DATASETS), required=True, help="Which dataset."),
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
            help="Split sizes [default: 10000 5000 50000 / 10000 2000 50000].",
        ),
        click.option("--augment", is_flag=True, help='mnist-scale: the "+" variant (train-time rescaling).'),
        click.option(
            "--data",
            "data_dir",
            type=click.Path(file_okay=False),
            default=None,
            help="Folder with the four MNIST IDX gz files [default: $SCALETOL_DATA].",
        ),
        click.option(
            "--download", is_flag=True, help="Fetch missing MNIST files (into --data, $SCALETOL_DATA or the cache)."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group()
def data():
    """Build, fingerprint and preview the datasets (Dynamic Scale MNIST, MNIST-Scale)."""


@data.command()
@dataset_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def make(as_json, **options):
    """Build or load a realisation and print its split sizes and SHA-256 sums."""
    splits, dist = _build(**options)
    summary = {
        "dataset": options["dataset"],
        "seed": options["seed"],
        "augment": options["augment"],
        "dist": dist.to_dict() if dist is not None else None,
        "image_size": splits.train.image_size,
        "normalization": {"mean": splits.train.mean, "std": splits.train.std},
        "splits": {
            name: {
                "size": len(split),
                "scale_min": float(split.scales.min()),
                "scale_max": float(split.scales.max()),
                "sha256": split.sha256(),
            }
            for name, split in splits.items()
        },
    }
    click.echo(json.dumps(summary, indent=2) if as_json else _table(summary))


@data.command()
@dataset_options
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Image file to write, e.g. preview.png.")
@click.option(
    "--scale",
    "scales",
    type=float,
    multiple=True,
    help="Data scale of a column (repeatable) [default: 0.71 1 2 4 8 / 0.3 0.5 0.7 1].",
)
@click.option("--count", type=click.IntRange(min=1), default=4, show_default=True, help="Digits (rows).")
def preview(out, scales, count, **options):
    """Draw training digits as served and at several data scales."""
    fmt = _image_format(out)
    splits, dist = _build(**options)
    from scaletol.files import atomic_write
    from sesn.data.preview import preview_figure

    title = f"{options['dataset']}{'+' if options['augment'] else ''}, seed {options['seed']}"
    if dist is not None:
        title += f", {dist!r}"
    figure = preview_figure(splits.train, scales or PREVIEW_SCALES[options["dataset"]], count=count, title=title)
    atomic_write(out, lambda tmp: figure.savefig(tmp, format=fmt))
    click.echo(f"wrote {out}")


def _build(dataset, seed, dist_name, scale_range, std, scale_file, column, sizes, augment, data_dir, download):
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

    mnist = load_mnist(data_dir, download=download)
    return build_dataset(dataset, mnist=mnist, seed=seed, dist=dist, sizes=sizes, augment=augment), dist


def _image_format(path: str) -> str:
    """The image format named by `path`'s suffix; fails before any work."""
    from matplotlib.figure import Figure

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise click.BadParameter(f"folder {folder!r} does not exist", param_hint="--out")
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in Figure().canvas.get_supported_filetypes():
        raise click.BadParameter(f"{path!r} needs a suffix naming an image format, e.g. .png", param_hint="--out")
    return fmt


def _table(summary: dict) -> str:
    norm = summary["normalization"]
    lines = [
        f"{summary['dataset']}{'+' if summary['augment'] else ''}, seed {summary['seed']}: "
        f"{summary['image_size']}x{summary['image_size']} images, "
        f"normalised with mean {norm['mean']:.4g}, std {norm['std']:.4g}",
        f"{'split':<6} {'size':>6}  {'scales':<13}  sha256 images / labels / scales (first 12 hex digits)",
    ]
    for name, split in summary["splits"].items():
        sums = " / ".join(split["sha256"][key][:12] for key in ("images", "labels", "scales"))
        scales = f"{split['scale_min']:.3f}-{split['scale_max']:.3f}"
        lines.append(f"{name:<6} {split['size']:>6}  {scales:<13}  {sums}")
    return "\n".join(lines)
