"""Speed of a training step, by default of the toy network (thesis Table 1,
168×168 inputs, σ_basis 2, ISR 3, kernel 49 px).

First, for the first model listed and each of ``--compare`` batch sizes:
training samples/s and peak memory of scaletol's network beside a
plain-PyTorch build of the same network (``PlainToyNet``: the layer's dense
kernels as an ``F.conv2d`` weight, ``amax`` over scales, batch norm), their
ratio, the evaluation speed (inference mode, cached basis, batches of
``sesn.train.evaluation.EVAL_BATCH``) beside training's, and on the CPU
scaletol's step with glibc's default allocator beside the kept freed memory
that training uses (``sesn.train.allocator``; the plain build runs with it
too). Each row runs in a fresh process, so that its peak memory (peak
resident set on the CPU, peak allocated on CUDA) and allocator are its own. Then, with ``--detail``: samples per second
for fixed and learnable scales, with and without the data pipeline, each
stage alone, and a torch.profiler breakdown of where a step's time goes (last
model listed). Any model of `sesn.models` can be timed (MNIST-Scale ones on
28×28 digits).

    python benchmarks/train.py [--models toy-fixed,toy-isr] [--compare 32,128] [--batch 32]
                               [--steps 5] [--detail] [--device auto] [--threads N] [--json]

A step is what `sesn.train.loop` runs per batch: (render the batch,) forward,
cross-entropy, backward, Adam. For toy networks, each stage (scale conv, max
over scales, ReLU + batch norm, pool + linear) is also timed alone, forward +
backward on the same batch, beside its share of the whole step. Digits are
random MNIST-shaped images (speed does not depend on the pixel values).
"""

from __future__ import annotations

import json
import multiprocessing
import platform
import resource
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor

import click
import torch
import torch.nn.functional as F
from torch import nn
from torch.profiler import ProfilerActivity, profile, record_function
from torch.utils.benchmark import Timer

from sesn.data.mnist import MNIST
from sesn.data.registry import build_dataset
from sesn.models import ToyNet, make_model, model_spec
from sesn.nn.layers import projected
from sesn.train.allocator import keep_freed_memory
from sesn.train.evaluation import EVAL_BATCH
from tolerance.distributions import make_distribution

PHASES = ("data", "forward", "backward", "optimizer")
IMAGE_SIZE = {"dynamic-mnist": 168, "mnist-scale": 28}


def random_batches(model: str, batch: int, device: torch.device, with_data: bool):
    """An endless iterator of (x, y) batches for `model`'s dataset: rendered
    by the dataset's loader (Dynamic Scale MNIST: log-uniform [1, 8]) when
    `with_data`, else one fixed random tensor of the same shape."""
    dataset = model_spec(model).dataset
    generator = torch.Generator().manual_seed(0)
    if not with_data:
        size = IMAGE_SIZE[dataset]
        x = torch.randn(batch, 1, size, size, generator=generator).to(device)
        y = torch.randint(0, 10, (batch,), generator=generator).to(device)
        while True:
            yield x, y
    digits = MNIST(
        torch.randint(0, 256, (4 * batch + 2, 28, 28), dtype=torch.uint8, generator=generator),
        torch.randint(0, 10, (4 * batch + 2,), generator=generator),
    )
    dist = make_distribution("loguniform", 1, 8) if dataset == "dynamic-mnist" else None
    split = build_dataset(dataset, mnist=digits, dist=dist, sizes=(4 * batch, 1, 1)).train
    epoch = 0
    while True:
        for x, y, _ in split.loader(batch, shuffle=True, seed=epoch, device=device, drop_last=True):
            yield x, y
        epoch += 1


def training_step(model, optimizer, batches, device: torch.device, autocast: torch.dtype | None = None) -> dict:
    """One step (the forward under ``torch.autocast`` to the dtype `autocast`,
    if given); returns the wall seconds of each phase."""
    times = {}

    def mark(phase, start):
        if device.type == "cuda":
            torch.cuda.synchronize()
        times[phase] = time.perf_counter() - start
        return time.perf_counter()

    start = time.perf_counter()
    with record_function("data"):
        x, y = next(batches)
    start = mark("data", start)
    with record_function("forward"), torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
        loss = F.cross_entropy(model(x), y)
    start = mark("forward", start)
    with record_function("backward"):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
    start = mark("backward", start)
    with record_function("optimizer"):
        optimizer.step()
    mark("optimizer", start)
    return times


def measure(
    name: str, batch: int, steps: int, device: torch.device, with_data: bool, autocast: torch.dtype | None = None
) -> dict:
    torch.manual_seed(0)
    model = make_model(name).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    batches = random_batches(name, batch, device, with_data)
    training_step(model, optimizer, batches, device, autocast)  # warm-up: caches, allocator
    phases = defaultdict(float)
    for _ in range(steps):
        for phase, seconds in training_step(model, optimizer, batches, device, autocast).items():
            phases[phase] += seconds / steps
    step = sum(phases.values())
    return {
        "model": name,
        "data": "rendered" if with_data else "random tensor",
        "batch": batch,
        "device": str(device),
        "ms_per_step": 1000 * step,
        "samples_per_s": batch / step,
        **{f"{phase}_ms": 1000 * phases[phase] for phase in PHASES},
    }


class PlainToyNet(nn.Module):
    """The toy network in plain PyTorch: the scale convolution's dense kernels
    (``kernels()``, [O, C, S, l, l]) become one trainable ``F.conv2d`` weight
    [O·S, C, l, l]; then ``amax`` over the scales, ReLU, batch norm, pool and
    linear as in ``ToyNet``."""

    def __init__(self, model: ToyNet):
        super().__init__()
        with torch.no_grad():
            kernels = model.conv.kernels()
        self.out_channels, self.n_scales = kernels.shape[0], kernels.shape[2]
        self.weight = nn.Parameter(kernels.transpose(1, 2).flatten(0, 1).contiguous())  # channel o·S + s
        self.norm, self.pool, self.classify = model.norm, model.pool, model.classify

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.weight, padding=self.weight.shape[-1] // 2)
        y = y.unflatten(1, (self.out_channels, self.n_scales)).amax(dim=2)
        return self.classify(self.pool(self.norm(torch.relu(y))).flatten(1))


def build(name: str, plain: bool, device: torch.device) -> nn.Module:
    torch.manual_seed(0)
    model = make_model(name)
    return (PlainToyNet(model) if plain else model).to(device)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # KiB on Linux


def comparison_row(
    name: str, batch: int, steps: int, device: str, plain: bool, threads: int | None, keep_memory: bool = True
) -> dict:
    """Training samples/s (after a warm-up step on 2 samples) and peak memory
    of one network at one batch size; for scaletol's network also the
    evaluation samples/s. Meant for a fresh process (``in_fresh_process``),
    whose freed memory is kept for reuse on the CPU, as in training, unless
    not `keep_memory`."""
    if threads:
        torch.set_num_threads(threads)
    device_ = torch.device(device)
    if keep_memory and device_.type == "cpu":
        keep_freed_memory()
    model = build(name, plain, device_).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    training_step(model, optimizer, random_batches(name, 2, device_, with_data=False), device_)  # warm-up
    batches = random_batches(name, batch, device_, with_data=False)
    seconds = sum(sum(training_step(model, optimizer, batches, device_).values()) for _ in range(steps))
    row = {"network": "plain PyTorch" if plain else "scaletol", "model": name, "batch": batch}
    row.update(train_samples_per_s=batch * steps / seconds, peak_mb=_peak_memory_mb(device_))
    if not plain and keep_memory:
        row["eval_samples_per_s"] = evaluation_speed(model, name, steps, device_)
    return row


def evaluation_speed(model: nn.Module, name: str, steps: int, device: torch.device) -> float:
    """Samples/s of ``sesn.train.evaluation.count_errors`` (inference mode,
    cached basis) on batches of EVAL_BATCH random images."""
    from sesn.train.evaluation import count_errors

    x, y = next(random_batches(name, EVAL_BATCH, device, with_data=False))
    batches = [(x, y, None)] * steps
    count_errors(model, batches[:1])  # warm-up: the basis, cached for the rest
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    count_errors(model, batches)
    return EVAL_BATCH * steps / (time.perf_counter() - start)


def in_fresh_process(function, *args):
    """``function(*args)`` in a new Python process (spawned, so its memory
    peak starts from nothing)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def compare(
    name: str, batches: list[int], steps: int, plain_steps: int, device: torch.device, threads: int | None
) -> list[dict]:
    """Per batch size: scaletol's network and the plain build side by side
    (the plain build's steps take minutes at batch 128 on a 2-core CPU)."""
    rows = []
    for batch in batches:
        ours = in_fresh_process(comparison_row, name, batch, steps, str(device), False, threads)
        if device.type == "cpu":
            default = in_fresh_process(comparison_row, name, batch, steps, str(device), False, threads, False)
            ours["default_malloc_samples_per_s"] = default["train_samples_per_s"]
        row = {
            "model": name,
            "batch": batch,
            "samples_per_s": ours["train_samples_per_s"],
            "peak_mb": ours["peak_mb"],
            "eval_samples_per_s": ours["eval_samples_per_s"],
            "eval_over_train": ours["eval_samples_per_s"] / ours["train_samples_per_s"],
            "default_malloc_samples_per_s": ours.get("default_malloc_samples_per_s"),
        }
        if plain_steps:
            plain = in_fresh_process(comparison_row, name, batch, plain_steps, str(device), True, threads)
            row.update(
                plain_samples_per_s=plain["train_samples_per_s"],
                speedup=ours["train_samples_per_s"] / plain["train_samples_per_s"],
                plain_peak_mb=plain["peak_mb"],
            )
        rows.append(row)
    return rows


def stage_ms(name: str, batch: int, steps: int, device: torch.device) -> dict[str, float] | None:
    """Forward + backward time [ms] of each stage of a toy network on its own
    (input and output shapes as in a training step); None for other models."""
    torch.manual_seed(0)
    model = make_model(name).to(device).train()
    if not isinstance(model, ToyNet):
        return None
    stages = {
        "scale conv + max over scales": lambda t: projected(model.project, model.conv, t),
        "ReLU + batch norm": lambda t: model.norm(torch.relu(t)),
        "pool + linear": lambda t: model.classify(model.pool(t).flatten(1)),
    }
    x = next(random_batches(name, batch, device, with_data=False))[0]
    times = {}
    for stage, forward in stages.items():
        x = x.detach().requires_grad_(not stage.startswith("scale conv"))
        grad = torch.randn_like(forward(x))

        def step(x=x, forward=forward, grad=grad):
            model.zero_grad(set_to_none=True)
            x.grad = None
            forward(x).backward(grad)

        step()
        timer = Timer("step()", globals={"step": step}, num_threads=torch.get_num_threads())
        times[stage] = 1000 * timer.timeit(steps).mean  # Timer synchronises the device
        x = forward(x)
    return times


def profile_step(name: str, batch: int, steps: int, device: torch.device) -> dict:
    """Self time per operator over `steps` steps with data rendering, and how
    much of the wall time the operators (not Python) account for."""
    torch.manual_seed(0)
    model = make_model(name).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    batches = random_batches(name, batch, device, with_data=True)
    training_step(model, optimizer, batches, device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    start = time.perf_counter()
    with profile(activities=activities) as prof:
        for _ in range(steps):
            training_step(model, optimizer, batches, device)
    wall_us = 1e6 * (time.perf_counter() - start)
    ops = [e for e in prof.key_averages() if e.key not in PHASES]
    total = sum(e.self_cpu_time_total for e in ops)
    top = sorted(ops, key=lambda e: e.self_cpu_time_total, reverse=True)[:10]
    return {
        "model": name,
        "batch": batch,
        "steps": steps,
        "wall_ms_per_step": wall_us / 1000 / steps,
        "operator_ms_per_step": total / 1000 / steps,
        "top_ops": [
            {
                "op": e.key,
                "self_ms_per_step": e.self_cpu_time_total / 1000 / steps,
                "share": e.self_cpu_time_total / total,
                "calls_per_step": e.count / steps,
            }
            for e in top
        ],
    }


@click.command(help=__doc__)
@click.option("--models", default="toy-fixed,toy-isr", show_default=True, help="Comma-separated model names.")
@click.option("--compare", "compared", default="32,128", show_default=True, help="Batch sizes beside plain PyTorch.")
@click.option("--batch", type=int, default=32, show_default=True, help="Batch size of the --detail rows.")
@click.option("--steps", type=int, default=5, show_default=True, help="Timed steps per row.")
@click.option("--plain-steps", type=int, default=1, show_default=True, help="Timed steps of the plain build (0: none).")
@click.option("--detail", is_flag=True, help="Also each model with and without data, its stages and a profile.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--threads", type=int, default=None, help="torch intra-op threads [default: torch's].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def main(models, compared, batch, steps, plain_steps, detail, device, threads, as_json):
    from sesn.train.loop import resolve_device

    if threads:
        torch.set_num_threads(threads)
    device = resolve_device(device)
    if device.type == "cpu":
        keep_freed_memory()  # as training does
    names = [m.strip() for m in models.split(",") if m.strip()]
    batches = [int(b) for b in compared.split(",") if b.strip()]
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "comparison": [],
    }
    if isinstance(make_model(names[0]), ToyNet):
        report["comparison"] = compare(names[0], batches, steps, plain_steps, device, threads)
    if detail:
        rows = [measure(name, batch, steps, device, with_data) for name in names for with_data in (False, True)]
        for row in rows:
            if row["data"] == "random tensor":
                row["stages_ms"] = stage_ms(row["model"], batch, steps, device)
        report.update(rows=rows, profile=profile_step(names[-1], batch, steps, device))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{report['machine']}, torch {report['torch']}, device {device}")
    if report["comparison"]:
        click.echo(f"\n{names[0]}: training step, scaletol beside plain PyTorch; evaluation (batches of {EVAL_BATCH})")
        click.echo(
            "| batch | samples/s | plain samples/s | ratio | peak MB | plain peak MB | eval samples/s | eval / train "
            "| default-malloc samples/s | kept / default |"
        )
        click.echo("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in report["comparison"]:
            if "plain_samples_per_s" in r:
                plain = f"{r['plain_samples_per_s']:.1f} | {r['speedup']:.1f}× | {r['peak_mb']:.0f} | "
                plain += f"{r['plain_peak_mb']:.0f}"
            else:
                plain = f"– | – | {r['peak_mb']:.0f} | –"
            default = r["default_malloc_samples_per_s"]
            malloc = "– | –" if default is None else f"{default:.1f} | {r['samples_per_s'] / default:.2f}×"
            click.echo(
                f"| {r['batch']} | {r['samples_per_s']:.1f} | {plain} | "
                f"{r['eval_samples_per_s']:.1f} | {r['eval_over_train']:.1f}× | {malloc} |"
            )
    if not detail:
        return
    click.echo("\n| model | data | batch | samples/s | ms/step | data | forward | backward | optimizer |")
    click.echo("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in report["rows"]:
        click.echo(
            f"| {r['model']} | {r['data']} | {r['batch']} | {r['samples_per_s']:.1f} | {r['ms_per_step']:.0f} | "
            + " | ".join(f"{r[f'{p}_ms']:.0f}" for p in PHASES)
            + " |"
        )
    for r in report["rows"]:
        if r.get("stages_ms"):
            click.echo(
                f"\nstages of {r['model']} alone, forward + backward (share of its {r['ms_per_step']:.0f} ms step)"
            )
            click.echo("| stage | ms | share |")
            click.echo("|---|---:|---:|")
            for stage, ms in r["stages_ms"].items():
                click.echo(f"| {stage} | {ms:.0f} | {100 * ms / r['ms_per_step']:.0f} % |")
    p = report["profile"]
    click.echo(
        f"\nprofile of {p['model']} (batch {p['batch']}, {p['steps']} steps with data): "
        f"operators {p['operator_ms_per_step']:.0f} ms of {p['wall_ms_per_step']:.0f} ms wall per step"
    )
    click.echo("| op | self ms/step | share | calls/step |")
    click.echo("|---|---:|---:|---:|")
    for op in p["top_ops"]:
        click.echo(
            f"| {op['op']} | {op['self_ms_per_step']:.1f} | {100 * op['share']:.1f} % | {op['calls_per_step']:.0f} |"
        )


if __name__ == "__main__":
    main()
