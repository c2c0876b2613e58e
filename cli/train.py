"""`tolcli train`: train one model of the thesis and evaluate it per data scale.

Also defines the options shared with `tolcli sweep` and `tolcli evaluate`.
torch loads only when a command runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click
from click.core import ParameterSource

from cli.errors import require_torch
from tolerance.distributions import NAMES as DIST_NAMES

MODEL_HELP = (
    "toy-MODE (dynamic-mnist), mnist-scale-cnn, mnist-scale-sesn or mnist-scale-MODE; "
    "MODE is fixed (toy only), isr, ratio, spacings or direct."
)

# option name -> TrainConfig field, for options whose value goes straight in
CONFIG_FIELDS = {
    "model": "model",
    "dataset": "dataset",
    "dist": "dist",
    "scale_range": "range",
    "augment": "augment",
    "seed": "seed",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "lr": "lr",
    "scale_lr": "scale_lr",
    "scale_warmup": "scale_warmup",
    "ns": "ns",
    "sigma_basis": "sigma_basis",
    "isr": "isr",
    "scales": "scales",
    "max_kernel": "max_kernel",
    "mult": "mult",
    "eval_range": "eval_range",
    "eval_per_octave": "eval_per_octave",
    "eval_limit": "eval_limit",
}
LIMITS = ("limit_train", "limit_val", "limit_test")


class NumberList(click.ParamType):
    """Comma-separated numbers of one type, none below `minimum`: e.g. 2,3.46,6
    (float) or 0,1,2 (int)."""

    def __init__(self, kind=float, minimum=None):
        self.kind, self.minimum = kind, minimum
        self.name = "X,Y,..." if kind is float else "N,M,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            values = tuple(self.kind(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of {self.kind.__name__}s", param, ctx)
        if self.minimum is not None and any(v < self.minimum for v in values):
            self.fail(f"{value!r} holds a value below {self.minimum}", param, ctx)
        return values


def _add(command, options):
    for option in reversed(options):
        command = option(command)
    return command


def shared_options(command):
    """Data, schedule, model-scale, evaluation and runtime options of
    `train` and `sweep` (all default to the TrainConfig defaults)."""
    return _add(
        command,
        [
            click.option(
                "--dataset",
                type=click.Choice(("dynamic-mnist", "mnist-scale")),
                default=None,
                help="Dataset [default: dynamic-mnist].",
            ),
            click.option(
                "--dist",
                type=click.Choice(DIST_NAMES),
                default=None,
                help="dynamic-mnist: data scale distribution [default: loguniform].",
            ),
            click.option("--augment", is_flag=True, default=None, help='mnist-scale: the "+" variant.'),
            click.option("--epochs", type=int, default=None, help="Epochs [default: 60]."),
            click.option(
                "--batch-size",
                type=int,
                default=None,
                help="Batch size [default: 128, or all training samples if fewer].",
            ),
            click.option("--lr", type=float, default=None, help="Adam learning rate of the weights [default: 0.01]."),
            click.option(
                "--scale-lr",
                type=float,
                default=None,
                help="Learning rate of the scale parameters [default: 0.01 toy, 0.005 mnist-scale].",
            ),
            click.option(
                "--scale-warmup",
                type=int,
                default=None,
                help="Warm-up epochs of the scale parameters [default: 5 toy, 10 mnist-scale].",
            ),
            click.option("--limit-train", type=int, default=None, help="Training samples [default: 10000]."),
            click.option("--limit-val", type=int, default=None, help="Validation samples [default: 5000 / 2000]."),
            click.option("--limit-test", type=int, default=None, help="Test samples [default: 50000]."),
            click.option(
                "--ns", type=int, default=None, help="Number of internal scales [default: 3 toy, 4 mnist-scale]."
            ),
            click.option(
                "--sigma-basis", type=float, default=None, help="Smallest internal scale, px [default: 2 / 1.5]."
            ),
            click.option(
                "--scales",
                type=NumberList(float),
                default=None,
                help="Initial scales, px, for fixed/spacings/direct, e.g. 2,3.46,6.",
            ),
            click.option(
                "--fixed-sigma", is_flag=True, default=None, help="Keep σ_basis fixed while learning the rest."
            ),
            click.option("--max-kernel", type=int, default=None, help="Cap on the kernel size, px (odd)."),
            click.option("--mult", type=float, default=None, help="mnist-scale: basis-B sub-scale ratio [1.4]."),
            click.option(
                "--eval-range",
                type=(float, float),
                default=None,
                metavar="LO HI",
                help="Per-scale evaluation range [default: 2^-0.5 2^3.5 / 0.3 1].",
            ),
            click.option(
                "--eval-per-octave",
                type=float,
                default=None,
                help="Per-scale evaluation steps per octave [default: 11, i.e. 45 scales].",
            ),
            click.option(
                "--eval-limit",
                type=int,
                default=None,
                help="Test digits shown at every evaluation scale [default: all].",
            ),
            click.option(
                "--data",
                "data_root",
                type=click.Path(file_okay=False),
                default=None,
                help="Folder with the MNIST IDX gz files [default: $SCALETOL_DATA].",
            ),
            click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda."),
            click.option("--quiet", is_flag=True, help="No progress bars."),
            click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table."),
        ],
    )


def given_options(ctx: click.Context, options: dict) -> dict:
    """The options the user actually passed (not left at their default)."""
    return {
        name: value
        for name, value in options.items()
        if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)
    }


def config_changes(given: dict, sizes: Sequence[int | None]) -> dict:
    """TrainConfig fields from the given options; limits replace entries of `sizes`."""
    changes = {CONFIG_FIELDS[k]: v for k, v in given.items() if k in CONFIG_FIELDS}
    if given.get("fixed_sigma"):
        changes["learn_sigma"] = False
    if any(k in given for k in LIMITS):
        changes["sizes"] = tuple(given.get(k, n) for k, n in zip(LIMITS, sizes))
    return changes


def new_config(changes: dict):
    """A TrainConfig from option changes, split sizes defaulting per dataset;
    without --batch-size, fewer training samples than a batch make one batch."""
    from sesn.train.config import DATASET_DEFAULTS, TrainConfig

    dataset = changes.get("dataset", "dynamic-mnist")
    if "sizes" in changes:
        defaults = DATASET_DEFAULTS[dataset]["sizes"]
        changes["sizes"] = tuple(d if s is None else s for s, d in zip(changes["sizes"], defaults))
        train_size = changes["sizes"][0]
        if "batch_size" not in changes and 0 < train_size < TrainConfig.batch_size:
            changes["batch_size"] = train_size
    return TrainConfig(**changes)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", default=None, help="Model name: " + MODEL_HELP)
@click.option(
    "--range",
    "scale_range",
    type=(float, float),
    default=None,
    metavar="LO HI",
    help="dynamic-mnist: data scale range, magnification factors [default: 1 8].",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Seed of everything: data realisation, weights, batch order [default: 0].",
)
@click.option("--isr", type=float, default=None, help="Fixed or initial internal scale range [default: 3 / 2].")
@shared_options
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    required=True,
    help="Run directory: config.json, checkpoint.pt, metrics.csv, results.nc.",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out (its config.json is used).")
@click.pass_context
def train(ctx, out, resume, data_root, device, quiet, as_json, **options):
    """Train one model, keep the epoch of best validation accuracy, and test it
    overall and per data scale (writes OUT/results.nc).

    Example: tolcli train --model toy-isr --dist loguniform --range 1 8 --epochs 60 --out runs/isr-1-8
    """
    require_torch()
    from sesn.train.config import TrainConfig
    from sesn.train.loop import CONFIG_FILE
    from sesn.train.loop import train as run_training

    given = given_options(ctx, options)
    saved = Path(out) / CONFIG_FILE
    if resume and saved.is_file():
        base = TrainConfig.load(saved)
        assert base.sizes is not None, "a saved config holds every setting"
        config = base.replace(**config_changes(given, base.sizes))
    else:
        if "model" not in given:
            raise click.UsageError("--model is required (unless --resume finds a run in --out)")
        config = new_config(config_changes(given, (None, None, None)))
    result = run_training(config, out, data_root=data_root, device=device, resume=resume, progress=not quiet)
    summary = result.summary()
    click.echo(json.dumps(summary) if as_json else run_report(summary))


def run_report(summary: dict) -> str:
    """A few readable lines about one finished run."""
    lines = [
        f"model        {summary['model']} on {summary['dataset']} ({summary['dist']} "
        f"{summary['range'][0]:g}-{summary['range'][1]:g}), seed {summary['seed']}",
        f"test error   {100 * summary['test_error']:.3f} %  (val {100 * summary['val_error']:.3f} %, "
        f"best epoch {summary['best_epoch']} of {summary['epochs']})",
    ]
    if summary["scales"]:
        scales = ", ".join(f"{s:.3f}" for s in summary["scales"])
        lines.append(f"scales       σ_basis {summary['sigma_basis']:.3f} px, ISR {summary['isr']:.3f}  [{scales}] px")
    lines.append(f"speed        {summary['samples_per_s']:.1f} training samples/s, {summary['parameters']} parameters")
    lines.append(f"wrote        {Path(summary['out']) / 'results.nc'}")
    return "\n".join(lines)
