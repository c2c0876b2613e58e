"""torch.compile against eager on a model's training step (default: the toy
network, batch 32 of 168×168, learnable ISR, kernel 49 px).

    python benchmarks/compile.py [--model toy-isr] [--batch 32] [--steps 5] [--backend inductor] [--json]

A step is forward, cross-entropy, backward and an Adam step (the scales move,
as in training). Eager and compiled steps alternate. Prints ms per step (best
of --steps after a warm-up step; the compiled model's first step, which
compiles, is timed apart), the graph count and graph breaks
(``torch._dynamo.explain``), how many graphs were compiled over all steps (a
recompilation adds some) and the largest difference between eager and
compiled losses over the steps.
"""

import argparse
import json
import platform
import time

import torch
import torch.nn.functional as F

from sesn.models import make_model, model_spec

IMAGE_SIZE = {"dynamic-mnist": 168, "mnist-scale": 28}


def stepper(model, forward, x, y):
    """A function running one training step; returns (loss, wall seconds)."""
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        start = time.perf_counter()
        loss = F.cross_entropy(forward(x), y)
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        return loss.item(), time.perf_counter() - start

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="toy-isr")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--backend", default="inductor")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.steps < 1 or args.batch < 1:
        parser.error("--steps and --batch must be ≥ 1")
    generator = torch.Generator().manual_seed(0)
    size = IMAGE_SIZE[model_spec(args.model).dataset]
    x = torch.randn(args.batch, 1, size, size, generator=generator)
    y = torch.randint(0, 10, (args.batch,), generator=generator)

    torch.manual_seed(0)
    eager = make_model(args.model)
    torch.manual_seed(0)
    model = make_model(args.model)
    explanation = torch._dynamo.explain(model)(x)
    torch._dynamo.reset()
    graphs = {"n": 0}

    def counting_backend(gm, example_inputs):
        graphs["n"] += 1
        return torch._dynamo.lookup_backend(args.backend)(gm, example_inputs)

    steps = (stepper(eager, eager, x, y), stepper(model, torch.compile(model, backend=counting_backend), x, y))
    # alternate the two, so that load from other processes hits both alike
    results = [[step() for step in steps] for _ in range(args.steps + 1)]
    (eager_losses, eager_seconds), (losses, seconds) = (zip(*column) for column in zip(*results))
    row = {
        "model": args.model,
        "batch": args.batch,
        "backend": args.backend,
        "eager_ms": round(1000 * min(eager_seconds[1:]), 1),
        "compiled_ms": round(1000 * min(seconds[1:]), 1),
        "first_compiled_step_s": round(seconds[0], 1),
        "graphs": explanation.graph_count,
        "graph_breaks": explanation.graph_break_count,
        "graphs_compiled": graphs["n"],
        "max_loss_difference": max(abs(a - b) for a, b in zip(losses, eager_losses)),
        "cpu": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
    }
    row["compiled_over_eager"] = round(row["compiled_ms"] / row["eager_ms"], 3)
    print(json.dumps(row) if args.json else "\n".join(f"{k}: {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
