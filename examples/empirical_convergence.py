"""How close suggestions from observed scales come to those of the distribution they were drawn from.

    python examples/empirical_convergence.py

Prints three markdown tables (README, "Empirical distributions"):
  1. 10^5 samples of each parametric distribution over several ranges: the
     empirical suggestion (N_S = 3) against the distribution's own, in octaves;
  2. how often each end of a sample is taken for open (a tail), by sample size;
  3. small samples: the root mean square error [octaves] of c_ref and ISR
     over repeated samples, by sample size.
"""

from __future__ import annotations

import math

import numpy as np

from tolerance.distributions import make_distribution
from tolerance.empirical import Empirical
from tolerance.fit import suggest

CASES = [
    ("loguniform", 1.0, 8.0),
    ("loguniform", 1.0, 2**1.5),
    ("loguniform", 0.3, 1.0),
    ("uniform", 1.0, 8.0),
    ("uniform", 1.0, 2.0),
    ("lognormal", 1.0, 8.0),
    ("lognormal", 0.5, 16.0),
    ("truncnormal", 1.0, 8.0),
    ("truncnormal", 1.0, 3.0),
    ("truncnormal", 0.2, 5.0),
]


def octaves(a: float, b: float) -> float:
    return math.log2(a / b)


def convergence_table(n: int = 100_000, seed: int = 11) -> str:
    lines = [
        f"| distribution | own c_ref, ISR | empirical ({n} samples) c_ref, ISR | Δ log2 c_ref | Δ log2 ISR | ends |",
        "|---|---|---|---|---|---|",
    ]
    for name, lo, hi in CASES:
        dist = make_distribution(name, lo, hi)
        own = suggest(dist, 3)
        observed = Empirical(dist.sample(n, np.random.default_rng(seed)))
        got = suggest(observed, 3)
        lines.append(
            f"| {name} [{lo:.3g}, {hi:.3g}] | {own.c_ref:.3f}, {own.isr:.3f} | {got.c_ref:.3f}, {got.isr:.3f} | "
            f"{octaves(got.c_ref, own.c_ref):+.3f} | {octaves(got.isr, own.isr):+.3f} | {'/'.join(observed.ends())} |"
        )
    return "\n".join(lines)


def ends_table(sizes=(20, 50, 200, 2000), repeats: int = 200) -> str:
    lines = ["| distribution [1, 8] | " + " | ".join(f"n = {n}" for n in sizes) + " |", "|---" * (len(sizes) + 1) + "|"]
    for name in ("loguniform", "uniform", "lognormal", "truncnormal"):
        dist = make_distribution(name, 1.0, 8.0)
        cells = []
        for n in sizes:
            ends = np.array(
                [Empirical(dist.sample(n, np.random.default_rng(seed))).open_ends for seed in range(repeats)]
            )
            cells.append(f"{ends[:, 0].mean():.0%} / {ends[:, 1].mean():.0%}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def small_sample_table(sizes=(20, 50, 200), repeats: int = 20) -> str:
    lines = ["| distribution [1, 8] | " + " | ".join(f"n = {n}" for n in sizes) + " |", "|---" * (len(sizes) + 1) + "|"]
    for name in ("loguniform", "lognormal", "truncnormal"):
        dist = make_distribution(name, 1.0, 8.0)
        own = suggest(dist, 3)
        cells = []
        for n in sizes:
            errors = []
            for seed in range(repeats):
                got = suggest(Empirical(dist.sample(n, np.random.default_rng(seed))), 3)
                errors.append((octaves(got.c_ref, own.c_ref), octaves(got.isr, own.isr)))
            rms = np.sqrt(np.mean(np.square(errors), axis=0))
            cells.append(f"{rms[0]:.2f} / {rms[1]:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    print("## 10^5 samples against the distribution's own suggestion (N_S = 3)\n")
    print(convergence_table())
    print("\n## Ends taken for open (lower / upper), 200 samples each\n")
    print(ends_table())
    print("\n## RMS error of c_ref / ISR [octaves] from small samples, 20 samples each\n")
    print(small_sample_table())


if __name__ == "__main__":
    main()
