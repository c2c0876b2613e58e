"""Does ``path="auto"`` run the faster path? A grid of realistic layer shapes.

    python benchmarks/path_choice.py [--full] [--repeat N] [--threads N] [--json]

For each shape, one training step of the layer (forward and backward into
weights, input and learnable scales) is timed on the direct path, on the
separable path and with ``path="auto"`` (after its one-off choice, whose
measuring time is reported apart). Printed: milliseconds per step, auto's time
as a ratio to each forced path, the cost rule's pick alone and auto's pick.
The default grid is reduced (smaller batches and channels where the direct
path would take seconds per step) so that it runs in a few minutes on a 2-core CPU;
``--full`` takes the product of kernels 5–49 px, batches 1–128, channels 1–95,
inputs 14–168 px (hours on a CPU). Times are the best of ``--repeat`` rounds
that visit the three variants in turn after a warm-up.
"""

import argparse
import itertools
import json
import platform
import time

import torch

from sesn.nn import path_choice
from sesn.nn.layers import ScaleConvHH, ScaleConvZ2H
from sesn.nn.scales import InternalScales

# (layer, batch, in_channels, out_channels, input px, kernel px); N_S 4 (3 for lifting), basis B eff 7
REDUCED = [
    ("Z2H", 1, 1, 4, 84, 49),
    ("Z2H", 8, 1, 16, 84, 13),
    ("Z2H", 32, 1, 16, 28, 9),
    ("Z2H", 4, 1, 32, 56, 25),
    ("Z2H", 128, 1, 32, 28, 5),
    ("Z2H", 1, 1, 32, 28, 13),
    ("HH", 4, 32, 63, 28, 5),
    ("HH", 4, 32, 63, 14, 9),
    ("HH", 4, 32, 63, 14, 13),
    ("HH", 1, 16, 16, 28, 25),
    ("HH", 1, 63, 95, 14, 5),
    ("HH", 32, 16, 16, 14, 5),
]
FULL_AXES = dict(layer=("Z2H", "HH"), batch=(1, 8, 32, 128), channels=((1, 16), (32, 63), (63, 95)), size=(14, 56, 168))
FULL_KERNELS = (5, 9, 13, 25, 49)


def full_grid():
    for layer, batch, (c_in, c_out), size, kernel in itertools.product(*FULL_AXES.values(), FULL_KERNELS):
        yield (layer, batch, 1 if layer == "Z2H" else c_in, c_out, size, kernel)


def build(layer, c_in, c_out, kernel, path):
    """A layer with learnable scales whose largest kernel is ``kernel`` px (ISR 2)."""
    ns = 3 if layer == "Z2H" else 4
    sigma_max = (kernel - 1) / 8  # l = 2·ceil(4σ_max) + 1
    scales = InternalScales(ns=ns, sigma_basis=sigma_max / 2, isr=2.0, mode="isr")
    kind = ScaleConvZ2H if layer == "Z2H" else ScaleConvHH
    module = kind(c_in, c_out, scales, basis="B", eff=7, path=path)
    assert module.separable_basis().kernel_size == kernel
    return module


def step_of(module, x):
    def step():
        y = module(x)
        y.backward(torch.ones_like(y))
        module.zero_grad(set_to_none=True)
        x.grad = None

    return step


def run_shape(shape, repeat):
    layer, batch, c_in, c_out, size, kernel = shape
    generator = torch.Generator().manual_seed(0)
    dims = (batch, c_in, size, size) if layer == "Z2H" else (batch, c_in, 4, size, size)
    x = torch.randn(dims, generator=generator).requires_grad_(layer == "HH")
    modules = {path: build(layer, c_in, c_out, kernel, path) for path in ("direct", "separable", "auto")}
    auto = modules["auto"]
    atoms = auto.separable_basis().atoms
    costs = path_choice.weighted_costs(
        batch, c_in, auto.in_scales, auto.span, c_out, atoms.shape[0], size, size, kernel, 1, atoms.shape[1], 49
    )
    path_choice.forget_measurements()
    start = time.perf_counter()
    step_of(auto, x)()  # the first call chooses (and measures near the boundary)
    choosing_ms = 1000 * (time.perf_counter() - start)
    (chosen,) = path_choice.measured_choices().values() or [None]
    steps = [step_of(modules[path], x) for path in ("direct", "separable", "auto")]
    best = [float("inf")] * 3
    for _ in range(repeat):
        for index, step in enumerate(steps):
            start = time.perf_counter()
            step()
            best[index] = min(best[index], time.perf_counter() - start)
    direct, separable, auto_s = (1000 * b for b in best)
    return {
        "layer": layer,
        "batch": batch,
        "channels": f"{c_in}→{c_out}",
        "input_px": size,
        "kernel_px": kernel,
        "direct_ms": round(direct, 1),
        "separable_ms": round(separable, 1),
        "auto_ms": round(auto_s, 1),
        "auto_vs_direct": round(auto_s / direct, 2),
        "auto_vs_separable": round(auto_s / separable, 2),
        "auto_vs_best": round(auto_s / min(direct, separable), 2),
        "rule": "separable" if costs[1] < costs[0] else "direct",
        "auto": chosen or "rule",
        "first_call_ms": round(choosing_ms, 1),
    }


def markdown(rows):
    head = (
        "| layer | batch | channels | input px | kernel px | direct ms | separable ms | auto ms "
        "| auto/direct | auto/separable | auto/best | rule picks | auto picks |"
    )
    lines = [head, "|" + "---|" * 5 + "---:|" * 6 + "---|---|"]
    for r in rows:
        picked = r["auto"] if r["auto"] != "rule" else f"{r['rule']} (rule)"
        lines.append(
            f"| {r['layer']} | {r['batch']} | {r['channels']} | {r['input_px']} | {r['kernel_px']} "
            f"| {r['direct_ms']:.0f} | {r['separable_ms']:.0f} | {r['auto_ms']:.0f} | {r['auto_vs_direct']:.2f} "
            f"| {r['auto_vs_separable']:.2f} | {r['auto_vs_best']:.2f} | {r['rule']} | {picked} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the whole grid (hours on a CPU)")
    parser.add_argument("--repeat", type=int, default=2, help="timed rounds after one warm-up")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument("--json", action="store_true", help="print one JSON list of rows")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat} must be ≥ 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rows = []
    for shape in full_grid() if args.full else REDUCED:
        rows.append(run_shape(shape, args.repeat))
        if not args.json:
            print(json.dumps(rows[-1]), flush=True)
    if args.json:
        print(json.dumps(rows))
    else:
        cpu = platform.processor() or platform.machine()
        print(f"\ntorch {torch.__version__}, {cpu}, {torch.get_num_threads()} threads")
        print(markdown(rows))


if __name__ == "__main__":
    main()
