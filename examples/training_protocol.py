"""Shared settings and runs of the training examples (thesis §4 and App. B).

Three protocols:
- full: the thesis's (10k/5k/50k digits, 60 epochs, lr steps at 20 and 40,
  3 realisations on Dynamic Scale MNIST and 6 on MNIST-Scale, 15 ISRs in
  [1.5, 7.65]); meant for a GPU.
- medium: the toy experiments at the thesis's data sizes on a 2-core CPU
  (10k training digits, batch 128, its learning-rate schedule compressed into
  MEDIUM_EPOCHS epochs, 2000 validation and 5000 test digits, 4 ISRs in
  [1.5, 7.65], one seed): about half an hour per run, meant to converge;
  MNIST-Scale as reduced.
- reduced: the same experiments shrunk to run on a 2-core CPU (600 or 1000
  training digits, 3-4 epochs, batch 32, 3 ISRs, 2 evaluation scales per
  octave, one seed): it exercises every step and shows what the models learn
  early on, not the thesis's error levels.

Runs live under one root folder and are shared: the examples reuse each
other's finished runs, and every sweep resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import xarray as xr

from sesn.train.config import TrainConfig
from sesn.train.sweep import isr_cells, isr_grid, model_cells, run_sweep

THESIS_RANGES = ((1.0, 2**1.5), (1.0, 2**2.25), (1.0, 2**3))  # [1, 2.83], [1, 4.76], [1, 8]


@dataclass(frozen=True)
class Protocol:
    """Sizes are (train, val, test) digits; milestones and warm-ups in epochs;
    eval_limit digits per evaluation scale; max_kernel caps kernels (px)."""

    name: str
    batch_size: int
    toy_sizes: tuple[int, int, int]
    toy_epochs: int
    toy_milestones: tuple[int, ...]
    toy_scale_warmup: int
    toy_seeds: tuple[int, ...]
    isrs: tuple[float, ...]
    eval_per_octave: float
    eval_limit: int | None
    toy_max_kernel: int | None
    mnist_sizes: tuple[int, int, int]
    mnist_epochs: int
    mnist_milestones: tuple[int, ...]
    mnist_scale_warmup: int
    mnist_seeds: tuple[int, ...]
    mnist_max_kernel: int | None


FULL = Protocol(
    name="full",
    batch_size=128,
    toy_sizes=(10000, 5000, 50000),
    toy_epochs=60,
    toy_milestones=(20, 40),
    toy_scale_warmup=5,
    toy_seeds=(0, 1, 2),
    isrs=tuple(isr_grid(1.5, 7.65, 15)),
    eval_per_octave=11,
    eval_limit=10000,
    toy_max_kernel=None,
    mnist_sizes=(10000, 2000, 50000),
    mnist_epochs=60,
    mnist_milestones=(20, 40),
    mnist_scale_warmup=10,
    mnist_seeds=(0, 1, 2, 3, 4, 5),
    mnist_max_kernel=None,
)
REDUCED = Protocol(
    name="reduced",
    batch_size=32,
    toy_sizes=(600, 300, 500),
    toy_epochs=4,
    toy_milestones=(3,),
    toy_scale_warmup=1,
    toy_seeds=(0,),
    isrs=tuple(isr_grid(1.5, 7.65, 3)),
    eval_per_octave=2,
    eval_limit=150,
    toy_max_kernel=None,
    mnist_sizes=(1000, 300, 1000),
    mnist_epochs=3,
    mnist_milestones=(2,),
    mnist_scale_warmup=1,
    mnist_seeds=(0,),
    mnist_max_kernel=None,
)
# What fits in 30 minutes of the 2-core CPU at 10k digits: 90k samples (about
# 20 minutes at the 75-85 samples/s of benchmarks/train.py, batch 128, ISR 3;
# larger ISRs have larger kernels), plus validation and tests.
MEDIUM_EPOCHS = 9
MEDIUM = dataclasses.replace(
    REDUCED,
    name="medium",
    batch_size=128,
    toy_sizes=(10000, 2000, 5000),
    toy_epochs=MEDIUM_EPOCHS,
    toy_milestones=(MEDIUM_EPOCHS // 3, 2 * MEDIUM_EPOCHS // 3),  # the thesis's 20 and 40 of 60
    toy_scale_warmup=1,  # the thesis's 5 of 60, rounded up
    isrs=tuple(isr_grid(1.5, 7.65, 4)),
    eval_limit=500,
)
PROTOCOLS = {p.name: p for p in (FULL, MEDIUM, REDUCED)}


def toy_config(p: Protocol, model: str, **changes) -> TrainConfig:
    return TrainConfig(
        model=model,
        sizes=p.toy_sizes,
        batch_size=p.batch_size,
        epochs=p.toy_epochs,
        milestones=p.toy_milestones,
        scale_warmup=p.toy_scale_warmup,
        eval_per_octave=p.eval_per_octave,
        eval_limit=p.eval_limit,
        max_kernel=p.toy_max_kernel,
        **changes,
    )


def mnist_scale_config(p: Protocol, model: str, augment: bool) -> TrainConfig:
    return TrainConfig(
        model=model,
        dataset="mnist-scale",
        augment=augment,
        sizes=p.mnist_sizes,
        batch_size=p.batch_size,
        epochs=p.mnist_epochs,
        milestones=p.mnist_milestones,
        scale_warmup=p.mnist_scale_warmup,
        eval_per_octave=p.eval_per_octave,
        eval_limit=p.eval_limit,
        max_kernel=p.mnist_max_kernel,
    )


def isr_sweep(p: Protocol, root: Path, **run) -> xr.Dataset:
    """toy-fixed over the protocol's ISRs × seeds × the thesis's three ranges
    (Fig. 3/4, Table 2's fixed rows), in ROOT/isr-sweep."""
    cells = isr_cells(toy_config(p, "toy-fixed"), p.isrs, p.toy_seeds, THESIS_RANGES)
    return run_sweep(cells, root / "isr-sweep", **run)


def learned_toy(
    p: Protocol, root: Path, models: list[str], ranges=THESIS_RANGES, **run
) -> dict[tuple[float, float], xr.Dataset]:
    """The learnable toy models (initial scales 2, 3.46, 6 px) per data range
    (Table 2's learned rows, Table 4), in ROOT/learned-toy/range-LO-HI."""
    grids = {}
    for bounds in ranges:
        base = toy_config(p, models[0], range=bounds)
        grids[bounds] = run_sweep(model_cells(base, models, p.toy_seeds), learned_toy_dir(root, bounds), **run)
    return grids


def learned_toy_dir(root: Path, bounds: tuple[float, float]) -> Path:
    return root / "learned-toy" / f"range-{bounds[0]:g}-{bounds[1]:.3g}"


def mnist_scale(p: Protocol, root: Path, models: list[str], augment: bool, **run) -> xr.Dataset:
    """The MNIST-Scale models (Table 5/6), in ROOT/mnist-scale[-plus]."""
    base = mnist_scale_config(p, models[0], augment)
    folder = "mnist-scale-plus" if augment else "mnist-scale"
    return run_sweep(model_cells(base, models, p.mnist_seeds), root / folder, **run)


def mean_std(values) -> str:
    """'mean ± std' of a 1-D array (std over seeds; '—' for one seed)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return "—"
    if values.size == 1:
        return f"{values[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def example_options(command):
    """--protocol, --out, --data, --device, --quiet for every example."""
    options = [
        click.option("--protocol", type=click.Choice(sorted(PROTOCOLS)), default="reduced", show_default=True),
        click.option(
            "--out",
            type=click.Path(file_okay=False),
            default=None,
            help="Root folder of the runs [default: runs/<protocol>].",
        ),
        click.option(
            "--data",
            "data_root",
            type=click.Path(file_okay=False),
            default=None,
            help="MNIST folder [default: $SCALETOL_DATA].",
        ),
        click.option("--device", default="auto", show_default=True),
        click.option("--quiet", is_flag=True, help="No progress bars."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def setup(protocol: str, out: str | None, data_root, device, quiet) -> tuple[Protocol, Path, dict, float]:
    """The protocol, the runs root, the keyword arguments for run_sweep, and
    the start time."""
    from sesn.data.mnist import load_mnist

    root = Path(out or f"runs/{protocol}")
    run = dict(mnist=load_mnist(data_root), device=device, progress=not quiet)
    return PROTOCOLS[protocol], root, run, time.perf_counter()


def write_report(root: Path, name: str, text: str, started: float) -> None:
    """Print `text` and save it as ROOT/<name>.md with the elapsed time."""
    from scaletol.files import atomic_write_text

    minutes = (time.perf_counter() - started) / 60
    text = f"{text}\n\n(elapsed {minutes:.1f} min, runs in {root})\n"
    atomic_write_text(root / f"{name}.md", text)
    click.echo(text)
