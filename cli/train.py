"""`tolcli train`: train one model of the thesis and evaluate it per data scale.

Also defines the training options shared with `tolcli sweep`. torch loads only
when a command runs (TrainConfig itself is torch-free).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import click

from cli.errors import require_torch
from cli.options import Decorator, NumberList, echo_result, per_dataset, runtime_options, shown, stack
from scaletol.checks import InputError
from scaletol.datasets import DATASETS, MNIST_SCALE_MULT, NAMES
from sesn.train.config import BATCH_SIZE, INITS, PRECISIONS, TrainConfig
from tolerance.distributions import NAMES as DIST_NAMES


def config_default(name: str) -> str:
    """The TrainConfig default of field `name`, as help text."""
    return shown(next(f.default for f in dataclasses.fields(TrainConfig) if f.name == name))


DYNAMIC = DATASETS["dynamic-mnist"]


def config_options() -> Decorator:
    """The TrainConfig settings that `train` and `sweep` share (each None
    unless given, so the config's own defaults apply)."""
    return stack(
        click.option(
            "--dataset",
            type=click.Choice(NAMES),
            default=None,
            help="Dataset [default: the model's].",
        ),
        click.option(
            "--dist",
            type=click.Choice(DIST_NAMES),
            default=None,
            help=f"dynamic-mnist: data scale distribution [default: {DYNAMIC.dist}].",
        ),
        click.option("--augment", is_flag=True, default=None, help='mnist-scale: the "+" variant.'),
        click.option("--epochs", type=int, default=None, help=f"Epochs [default: {config_default('epochs')}]."),
        click.option(
            "--batch-size",
            type=int,
            default=None,
            help=f"Batch size [default: {BATCH_SIZE}, or all training samples if fewer].",
        ),
        click.option(
            "--lr",
            type=float,
            default=None,
            help=f"Adam learning rate of the weights [default: {config_default('lr')}].",
        ),
        click.option(
            "--scale-lr",
            type=float,
            default=None,
            help=f"Learning rate of the scale parameters [default: {per_dataset(lambda d: d.scale_lr)}].",
        ),
        click.option(
            "--scale-warmup",
            type=int,
            default=None,
            help=f"Warm-up epochs of the scale parameters [default: {per_dataset(lambda d: d.scale_warmup)}].",
        ),
        *(
            click.option(
                f"--limit-{split}",
                f"limit_{split}",
                type=int,
                default=None,
                help=f"{label} samples [default: {per_dataset(lambda d, i=i: d.sizes[i])}].",
            )
            for i, (split, label) in enumerate((("train", "Training"), ("val", "Validation"), ("test", "Test")))
        ),
        click.option(
            "--ns",
            type=int,
            default=None,
            help=f"Number of internal scales [default: {per_dataset(lambda d: d.initial_scales['ns'])}].",
        ),
        click.option(
            "--sigma-basis",
            type=float,
            default=None,
            help=f"Smallest internal scale, px [default: {per_dataset(lambda d: d.initial_scales['sigma_basis'])}].",
        ),
        click.option(
            "--init",
            type=click.Choice(INITS),
            default=None,
            help="Initial σ_basis and ISR: the thesis's, or `tolcli suggest`'s for the training distribution "
            f"[default: {config_default('init')}].",
        ),
        click.option(
            "--precision",
            type=click.Choice(PRECISIONS),
            default=None,
            help="Arithmetic of the training steps: tf32 on CUDA GPUs of compute capability ≥ 8, bf16 autocast "
            "on the CPU and GPUs that support it; the final test runs in fp32 "
            f"[default: {config_default('precision')}].",
        ),
        click.option(
            "--scales",
            type=NumberList(float),
            default=None,
            help="Initial scales, px, for fixed/spacings/direct, e.g. 2,3.46,6.",
        ),
        click.option(
            "--fixed-sigma",
            "learn_sigma",
            flag_value=False,
            default=None,
            help="Keep σ_basis fixed while learning the rest.",
        ),
        click.option("--max-kernel", type=int, default=None, help="Cap on the kernel size, px (odd)."),
        click.option(
            "--mult",
            type=float,
            default=None,
            help=f"mnist-scale: basis-B sub-scale ratio [default: {shown(MNIST_SCALE_MULT)}].",
        ),
        click.option(
            "--eval-range",
            type=(float, float),
            default=None,
            metavar="LO HI",
            help=f"Per-scale evaluation range [default: {per_dataset(lambda d: d.eval_range)}].",
        ),
        click.option(
            "--eval-per-octave",
            type=float,
            default=None,
            help=f"Per-scale evaluation steps per octave [default: {config_default('eval_per_octave')}].",
        ),
        click.option(
            "--eval-limit",
            type=int,
            default=None,
            help="Test digits shown at every evaluation scale [default: all].",
        ),
    )


def model_help(what: str) -> str:
    """The --model help, naming every model of ``sesn.models.MODELS`` (kept
    torch-free: tests/cli/test_train.py checks it against the registry)."""
    return (
        f"{what}: toy-MODE (dynamic-mnist; MODE fixed, {', '.join(LEARNABLE)}), "
        f"mnist-scale-MODE (MODE {', '.join(LEARNABLE)}), mnist-scale-sesn, mnist-scale-disco, "
        f"mnist-scale-cnn or a baseline mnist-scale-NAME (NAME {', '.join(BASELINES)})."
    )


LEARNABLE = ("isr", "ratio", "spacings", "direct")
BASELINES = ("sicnn", "siconvnet", "sevf", "dss", "sscnn")


def range_option() -> Decorator:
    return click.option(
        "--range",
        type=(float, float),
        default=None,
        metavar="LO HI",
        help=f"dynamic-mnist: data scale range, magnification factors [default: {shown(DYNAMIC.range)}].",
    )


def seed_option() -> Decorator:
    return click.option(
        "--seed",
        type=click.IntRange(min=0),
        default=None,
        help=f"Seed of everything: data realisation, weights, batch order [default: {config_default('seed')}].",
    )


def isr_option() -> Decorator:
    return click.option(
        "--isr",
        type=float,
        default=None,
        help=f"Fixed or initial internal scale range [default: {per_dataset(lambda d: d.initial_scales['isr'])}].",
    )


LIMITS = ("limit_train", "limit_val", "limit_test")


def config_changes(options: dict, base_sizes: Sequence[int | None] = (None, None, None)) -> dict:
    """TrainConfig fields from the options given (not None): the split
    limits become `sizes`, an entry left out keeping `base_sizes`' (None: the
    dataset's default)."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    changes = {k: v for k, v in options.items() if k in fields and v is not None}
    if changes.get("init") == "suggest":
        given = [f"--{k.replace('_', '-')}" for k in ("sigma_basis", "isr", "scales") if k in changes]
        if given:
            raise InputError(f"{', '.join(given)} must be left out with --init suggest (it sets the initial scales)")
    limits = [options.get(k) for k in LIMITS]
    if any(n is not None for n in limits):
        changes["sizes"] = tuple(b if n is None else n for n, b in zip(limits, base_sizes))
    return changes


def build_config(options: dict, resume_dir: str | Path | None = None) -> TrainConfig:
    """The TrainConfig of the options given: a new one, or, when `resume_dir`
    holds a run, that run's config with the given options changed."""
    from sesn.train.loop import CONFIG_FILE

    saved = Path(resume_dir) / CONFIG_FILE if resume_dir is not None else None
    if saved is not None and saved.is_file():
        base = TrainConfig.load(saved)
        return base.replace(**config_changes(options, base.sizes))
    if options.get("model") is None:
        raise click.UsageError("--model is required (unless --resume finds a run in --out)")
    return TrainConfig(**config_changes(options))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", default=None, help=model_help("Model name"))
@range_option()
@seed_option()
@isr_option()
@config_options()
@runtime_options()
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    required=True,
    help="Run directory: config.json, checkpoint.pt, metrics.csv, results.nc.",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out (its config.json is used).")
def train(out, resume, data_root, device, quiet, as_json, **options):
    """Train one model, keep the epoch of best validation accuracy, and test it
    overall and per data scale (writes OUT/results.nc).

    Example: tolcli train --model toy-isr --dist loguniform --range 1 8 --epochs 60 --out runs/isr-1-8
    """
    require_torch()
    from sesn.train.loop import train as run_training

    config = build_config(options, out if resume else None)
    result = run_training(config, out, data_root=data_root, device=device, resume=resume, progress=not quiet)
    echo_result(result, as_json)
