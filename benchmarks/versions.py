"""Training-step speed of the toy network in two checkouts of scaletol, side
by side: each measurement in a fresh process with that checkout first on the
path, the two alternating, ``--rounds`` times per batch size.

    python benchmarks/versions.py BEFORE_DIR AFTER_DIR [--batches 32,128] [--steps 3] [--rounds 2]

BEFORE_DIR, e.g. from ``git worktree add /tmp/before COMMIT``. A step is
forward, cross-entropy, backward and Adam on a fixed random batch of 168×168
images (``toy-fixed``), after one warm-up step; each checkout runs as its own
training loop would, so where ``sesn.train.allocator`` exists freed memory is
kept for reuse. Prints samples/s of every round and the ratio of the medians.
"""

import os
import statistics
import subprocess
import sys
from pathlib import Path

import click

STEP_TIMER = """
import sys, time
import torch, torch.nn.functional as F
try:
    from sesn.train.allocator import keep_freed_memory
    keep_freed_memory()
except ImportError:
    pass
from sesn.models import make_model
batch, steps = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
model = make_model("toy-fixed")
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
x, y = torch.randn(batch, 1, 168, 168), torch.randint(0, 10, (batch,))
def step():
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
step()
start = time.perf_counter()
for _ in range(steps):
    step()
print(batch * steps / (time.perf_counter() - start))
"""


def samples_per_s(checkout: Path, batch: int, steps: int) -> float:
    run = subprocess.run(
        [sys.executable, "-c", STEP_TIMER, str(batch), str(steps)],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(run.stdout.split()[-1])


@click.command(help=__doc__)
@click.argument("before", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("after", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--batches", default="32,128", show_default=True, help="Comma-separated batch sizes.")
@click.option("--steps", type=int, default=3, show_default=True, help="Timed steps per measurement.")
@click.option("--rounds", type=int, default=2, show_default=True, help="Measurements per checkout and batch.")
def main(before, after, batches, steps, rounds):
    click.echo(f"toy-fixed training step, samples/s; before {before}, after {after}")
    click.echo("| batch | before | after | after / before (medians) |")
    click.echo("|---:|---|---|---:|")
    for batch in [int(b) for b in batches.split(",") if b.strip()]:
        times: tuple[list[float], list[float]] = ([], [])
        for _ in range(rounds):
            for checkout, measured in zip((before, after), times):
                measured.append(samples_per_s(checkout.resolve(), batch, steps))
        ratio = statistics.median(times[1]) / statistics.median(times[0])
        cells = [", ".join(f"{t:.1f}" for t in measured) for measured in times]
        click.echo(f"| {batch} | {cells[0]} | {cells[1]} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()
