"""Speed of one training step (forward, backward, SGD update) of a scale
convolution, against a plain ``F.conv2d`` with the same kernel shape.

    python benchmarks/layers.py [--json] [--workload toy|mnist-scale|all]
                                [--repeat N] [--device cpu|cuda] [--threads N]

Workloads (issue #3): "toy" is the lifting layer of the thesis's toy network
(batch 32 of 1×168×168, 16 filters, basis A eff 5, N_S 3, σ_basis 2, ISR 3:
kernel 49); "mnist-scale" an H→H layer of the MNIST-Scale network (batch 128,
32→63 channels, 56×56, N_S 4, eff 7, basis B, scales 1.5…3: kernel 25). The
toy input needs no gradient (first layer); the H→H input does (middle layer).
Learnable variants rebuild the basis and back-propagate into the scales every
step, as in training. Prints a markdown table, or with --json one JSON list of
rows {workload, variant, ms_per_step, ratio_to_conv2d, path, auto_choice, device}.
ms_per_step is the best of --repeat rounds after a warm-up.
"""

import argparse
import json
import platform
import time

import torch
import torch.nn.functional as F

from sesn.nn.layers import ScaleConvHH, ScaleConvZ2H
from sesn.nn.path_choice import choose_path
from sesn.nn.scales import InternalScales, scale_parameters

WORKLOADS = {
    "toy": dict(
        lifting=True,
        batch=32,
        in_channels=1,
        out_channels=16,
        size=168,
        ns=3,
        basis="A",
        eff=5,
        sigma_basis=2.0,
        isr=3.0,
    ),
    "mnist-scale": dict(
        lifting=False,
        batch=128,
        in_channels=32,
        out_channels=63,
        size=56,
        ns=4,
        basis="B",
        eff=7,
        sigma_basis=1.5,
        isr=2.0,
    ),
}
VARIANTS = [
    ("conv2d", None, None),
    ("direct", "direct", False),
    ("direct", "direct", True),
    ("separable", "separable", False),
    ("separable", "separable", True),
]


def build_layer(work, path, learnable, device):
    mode = "isr" if learnable else "fixed"
    scales = InternalScales(work["ns"], work["sigma_basis"], work["isr"], mode=mode)
    kind = ScaleConvZ2H if work["lifting"] else ScaleConvHH
    layer = kind(work["in_channels"], work["out_channels"], scales, basis=work["basis"], eff=work["eff"], path=path)
    return layer.to(device)


def plain_conv(work, size, device):
    """F.conv2d with the direct path's kernel shape: [S·O, C, l, l], one group per scale."""
    groups = 1 if work["lifting"] else work["ns"]
    weight = torch.nn.Parameter(
        0.01 * torch.randn(work["ns"] * work["out_channels"], work["in_channels"], size, size, device=device)
    )

    def run(x):
        flat = x if work["lifting"] else x.transpose(1, 2).flatten(1, 2)
        return F.conv2d(flat, weight, padding=size // 2, groups=groups)

    return run, [weight]


def make_input(work, device):
    generator = torch.Generator().manual_seed(0)
    shape = [work["batch"], work["in_channels"], work["size"], work["size"]]
    if not work["lifting"]:
        shape.insert(2, work["ns"])
    x = torch.randn(shape, generator=generator).to(device)
    return x.requires_grad_(not work["lifting"])


def training_step(forward, params, x, scale_params=(), autocast=None):
    """One forward (under ``torch.autocast`` to the dtype `autocast`, if
    given), backward with a fixed upstream gradient, and SGD update.

    The scale parameters are written back to their first values after the
    update: the basis is rebuilt every step, yet the kernel size stays put.
    """
    optimiser = torch.optim.SGD(params, lr=1e-4)
    initial = [p.detach().clone() for p in scale_params]
    upstream = {}

    def step():
        with torch.autocast(x.device.type, dtype=autocast, enabled=autocast is not None):
            y = forward(x)
        if "grad" not in upstream:
            grad = torch.randn(y.shape, generator=torch.Generator().manual_seed(1))
            upstream["grad"] = grad.to(y.device, y.dtype)
        y.backward(upstream["grad"])
        optimiser.step()
        optimiser.zero_grad()
        x.grad = None
        with torch.no_grad():
            for param, value in zip(scale_params, initial):
                param.copy_(value)

    return step


def best_times_ms(steps, repeat, device):
    """Best wall time (ms) of each step over ``repeat`` rounds, after one warm-up.

    Rounds visit the steps in turn, so a burst of load from other processes
    hits every variant alike; the best of the rounds estimates the unloaded time.
    """

    def synchronise():
        if device == "cuda":
            torch.cuda.synchronize()

    for step in steps:
        step()
    best = [float("inf")] * len(steps)
    for _ in range(repeat):
        for index, step in enumerate(steps):
            synchronise()
            start = time.perf_counter()
            step()
            synchronise()
            best[index] = min(best[index], time.perf_counter() - start)
    return [1000 * seconds for seconds in best]


def run_workload(name, repeat, device, autocast=None, **changes):
    """Rows of the workload `name` (its settings updated by `changes`), each
    variant's forward under autocast to the dtype `autocast` if given."""
    work = {**WORKLOADS[name], **changes}
    x = make_input(work, device)
    atoms = build_layer(work, "direct", False, device).separable_basis().atoms
    size = atoms.shape[-1]
    rows, steps = [], []
    for label, path, learnable in VARIANTS:
        if path is None:
            forward, params = plain_conv(work, size, device)
            variant = f"conv2d {size}×{size}"
        else:
            layer = build_layer(work, path, learnable, device)
            forward, params = layer, list(layer.parameters())
            variant = f"{label}, {'learnable' if learnable else 'fixed'} scales"
        scale_params = [] if path is None else scale_parameters(layer)
        steps.append(training_step(forward, params, x, scale_params, autocast))
        rows.append({"workload": name, "variant": variant, "path": path})
    chosen = choose_path(
        work["batch"],
        work["in_channels"],
        1 if work["lifting"] else work["ns"],
        1,
        work["out_channels"],
        work["ns"],
        work["size"],
        work["size"],
        size,
        atoms=atoms.shape[1],
        functions=work["eff"] ** 2,
    )
    times = best_times_ms(steps, repeat, device)
    for row, ms in zip(rows, times):
        row["ms_per_step"] = round(ms, 1)
        row["ratio_to_conv2d"] = round(ms / times[0], 3)
        row["device"] = device_name(device)
        row["auto_choice"] = row["path"] == chosen
    return rows


def device_name(device):
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def markdown(rows):
    lines = ["| workload | variant | ms / step | ratio to conv2d |", "|---|---|---:|---:|"]
    for row in rows:
        mark = " (auto)" if row["auto_choice"] else ""
        lines.append(
            f"| {row['workload']} | {row['variant']}{mark} | {row['ms_per_step']:.0f} | {row['ratio_to_conv2d']:.3f} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON list of rows")
    parser.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds over all variants (after one warm-up)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat} must be ≥ 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads {args.threads} must be ≥ 1")
        torch.set_num_threads(args.threads)
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    rows = [row for name in names for row in run_workload(name, args.repeat, args.device)]
    if args.json:
        print(json.dumps(rows))
    else:
        print(f"torch {torch.__version__} on {device_name(args.device)}; (auto): the cost rule's choice, unmeasured")
        print(markdown(rows))


if __name__ == "__main__":
    main()
