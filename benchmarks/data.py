"""Speed of the data pipeline: reading MNIST, building an MNIST-Scale
realisation, loading it from the cache, and Dynamic Scale MNIST batches per
second (batch 128, 168×168, scales log-uniform [1, 8]) on the CPU and, when
there is one, the GPU.

    python benchmarks/data.py [--data DIR] [--batches 50] [--repeats 3] [--threads N] [--json]

Without --data or $SCALETOL_DATA it times random digits of MNIST's shape
(the timings do not depend on the pixel values).
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import tempfile

import click
import torch
from torch.utils.benchmark import Measurement, Timer

from scaletol.datasets import DATASETS
from sesn.data.mnist import MNIST, load_mnist
from sesn.data.mnist_scale import render_realisation
from sesn.data.registry import build_dataset
from tolerance.distributions import make_distribution

BATCH = 128


def seconds(task, repeats: int) -> float:
    """Median wall time of `task()` over `repeats` runs, seconds (torch's
    benchmark Timer: synchronises the device, keeps the thread count)."""
    timer = Timer("task()", globals={"task": task}, num_threads=torch.get_num_threads())
    [measurement] = Measurement.merge([timer.timeit(1) for _ in range(repeats)])
    return measurement.median


def batches_per_second(loader, batches: int) -> float:
    """Batches per second over `batches` batches (as many epochs as that
    takes), after one warm-up batch."""
    iterator = itertools.chain.from_iterable(itertools.repeat(loader))  # epoch after epoch
    next(iterator)
    timer = Timer("next(batches)", globals={"batches": iterator}, num_threads=torch.get_num_threads())
    return 1 / timer.timeit(batches).mean


def random_mnist() -> MNIST:
    generator = torch.Generator().manual_seed(0)
    return MNIST(
        images=torch.randint(0, 256, (70_000, 28, 28), dtype=torch.uint8, generator=generator),
        labels=torch.randint(0, 10, (70_000,), generator=generator),
    )


def measure(data_dir: str | None, batches: int, repeats: int) -> list[dict]:
    rows = []
    if data_dir:
        rows.append(
            {
                "name": "MNIST read + verify (70k digits)",
                "device": "cpu",
                "value": seconds(lambda: load_mnist(data_dir), repeats),
                "unit": "s",
            }
        )
        mnist = load_mnist(data_dir)
    else:
        mnist = random_mnist()
    rows.append(
        {
            "name": "MNIST-Scale realisation build (62k digits)",
            "device": "cpu",
            "value": seconds(lambda: render_realisation(mnist, seed=0, sizes=DATASETS["mnist-scale"].sizes), repeats),
            "unit": "s",
        }
    )
    with tempfile.TemporaryDirectory() as cache:
        os.environ["SCALETOL_CACHE"] = cache
        build_dataset("mnist-scale", mnist=mnist, seed=0)
        rows.append(
            {
                "name": "MNIST-Scale load from cache",
                "device": "cpu",
                "value": seconds(lambda: build_dataset("mnist-scale", mnist=mnist, seed=0), repeats),
                "unit": "s",
            }
        )
    splits = build_dataset("dynamic-mnist", mnist=mnist, seed=0, dist=make_distribution("loguniform", 1, 8))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        loader = splits.train.loader(BATCH, shuffle=True, device=device)
        rows.append(
            {
                "name": f"Dynamic Scale MNIST batches ({BATCH} x 168x168)",
                "device": device,
                "value": batches_per_second(loader, batches),
                "unit": "batches/s",
            }
        )
    return rows


@click.command(help=__doc__)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False),
    default=os.environ.get("SCALETOL_DATA"),
    help="MNIST folder [default: $SCALETOL_DATA; else random digits].",
)
@click.option("--batches", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads [default: torch's].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def main(data_dir, batches, repeats, threads, as_json):
    if threads:
        torch.set_num_threads(threads)
    machine = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "data": "MNIST" if data_dir else "random digits",
    }
    rows = measure(data_dir, batches, repeats)
    if as_json:
        click.echo(json.dumps({"machine": machine, "results": rows}, indent=2))
        return
    click.echo(f"{'measurement':<46} {'device':<6} {'value':>9}  unit")
    for row in rows:
        click.echo(f"{row['name']:<46} {row['device']:<6} {row['value']:>9.3g}  {row['unit']}")
    click.echo(
        f"torch {machine['torch']}, {machine['threads']} threads, {machine['cpus']} CPUs, "
        f"load average {machine['load_average']:.2f}, data: {machine['data']}"
    )


if __name__ == "__main__":
    main()
