"""Reproduce the thesis's tolerance-model figures and numbers.

    python examples/tolerance_figures.py OUT_DIR

Writes to OUT_DIR:
  fig2_tolerance_model.png  Fig. 2: log-uniform [0.6, 2.0], N_S = 4, ISR fixed to 2 (SESN on
                            MNIST-Scale), τ = 0.459, c_ref fitted
  fig5_combined_fit.png     Fig. 5: combined fit of log-uniform [1, 2^1.5], [1, 2^2.25], [1, 2^3], N_S = 3
  ns_auto.png               --ns auto for log-uniform [1, 8]: the chosen suggestion and KL per N_S
  synthetic_errors.csv      per-scale errors made by the error model with τ = 0.6 (+ noise), for
                            `tolcli fit-tau --errors`
  errors_fit.png            the τ-from-errors fit of that file
and prints the reproduction table (ours vs thesis, both KL directions) and how
the fitting grid's lower margin moves τ, as markdown.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from scaletol.figures import save_figure
from scaletol.files import atomic_write_text
from tolerance.distributions import make_distribution
from tolerance.errors_fit import fit_tau_from_errors, predicted_errors
from tolerance.errors_io import read_errors
from tolerance.fit import combined_fit, suggest, suggest_ns
from tolerance.plot import (
    figure_with_axes,
    plot_combined,
    plot_errors_fit,
    plot_ns_scan,
    plot_suggestion,
)

THESIS_TAU = 0.459
THESIS_C_REF_ISR = [(0.981, 2.893), (1.045, 4.319), (1.125, 6.320)]
THESIS_BEST_TRAINED_ISR = [2.38, 4.76, 5.35]  # fixed-scale sweep (thesis Fig. 3)
UPPER_OCTAVES = (1.5, 2.25, 3.0)


def thesis_distributions():
    return [make_distribution("loguniform", 1.0, 2.0**b) for b in UPPER_OCTAVES]


def figure_2(out_dir: str) -> str:
    suggestion = suggest(make_distribution("loguniform", 0.6, 2.0), 4, isr=2.0)
    figure, axes = figure_with_axes(1, width=6.0, height=4.0)
    plot_suggestion(suggestion, axes[0])
    path = os.path.join(out_dir, "fig2_tolerance_model.png")
    save_figure(figure, path)
    return path


def figure_5(out_dir: str, fit) -> str:
    figure, axes = figure_with_axes(3)
    plot_combined(fit, axes)
    path = os.path.join(out_dir, "fig5_combined_fit.png")
    save_figure(figure, path)
    return path


def ns_auto_figure(out_dir: str) -> str:
    scan = suggest_ns(make_distribution("loguniform", 1.0, 8.0))
    figure, axes = figure_with_axes(2)
    plot_suggestion(scan.chosen, axes[0])
    plot_ns_scan(scan, axes[1])
    path = os.path.join(out_dir, "ns_auto.png")
    save_figure(figure, path)
    return path


def synthetic_errors_csv(out_dir: str, tau: float = 0.6) -> str:
    """Errors of 3 ISRs x 2 seeds (N_S = 3, c_ref 1) on the thesis's 45 evaluation scales."""
    rng = np.random.default_rng(2024)
    scales = np.geomspace(2**-0.5, 2**3.5, 45)
    lines = ["seed,isr,ns,c_ref,data_scale,error"]
    for seed in (0, 1):
        for isr in (1.5, 3.0, 6.0):
            internal = isr ** (np.arange(3) / 2)
            errors = predicted_errors(scales, internal, tau, 0.02, 0.75) + rng.normal(0, 0.01, scales.size)
            lines += [f"{seed},{isr},3,1.0,{s:.6g},{e:.6g}" for s, e in zip(scales, np.clip(errors, 0, 1))]
    path = os.path.join(out_dir, "synthetic_errors.csv")
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def errors_figure(out_dir: str, csv_path: str) -> tuple[str, float, float]:
    result = fit_tau_from_errors(read_errors(csv_path))
    figure, axes = figure_with_axes(1, width=6.0, height=4.0)
    plot_errors_fit(result, axes[0])
    path = os.path.join(out_dir, "errors_fit.png")
    save_figure(figure, path)
    return path, result.tau, result.tau_stderr


def reproduction_table(forward, reverse) -> str:
    lines = [
        "| data (log-uniform) | thesis c_ref, ISR | KL(model‖data) c_ref, ISR | KL(data‖model) c_ref, ISR "
        "| best trained ISR |",
        "|---|---|---|---|---|",
    ]
    for i, b in enumerate(UPPER_OCTAVES):
        f, r = forward.suggestions[i], reverse.suggestions[i]
        c_ref, isr = THESIS_C_REF_ISR[i]
        lines.append(
            f"| [1, 2^{b:g}] | {c_ref:.3f}, {isr:.3f} | {f.c_ref:.3f}, {f.isr:.3f} | "
            f"{r.c_ref:.3f}, {r.isr:.3f} | {THESIS_BEST_TRAINED_ISR[i]} |"
        )
    lines.append(f"| τ (shared) | {THESIS_TAU:.3f} | {forward.tau:.3f} | {reverse.tau:.3f} | |")
    lines.append(f"| total KL [nats] | | {forward.fit.objective:.4f} | {reverse.fit.objective:.4f} | |")
    return "\n".join(lines)


def margin_table() -> str:
    lines = ["| grid below / above the data [octaves] | τ, KL(model‖data) | τ, KL(data‖model) |", "|---|---|---|"]
    for margins in ((1.0, 2.0), (1.0, 1.0), (2.0, 2.0), (3.0, 3.0)):
        taus = [
            combined_fit(thesis_distributions(), 3, direction=d, margins=margins).tau
            for d in ("model-data", "data-model")
        ]
        note = " (default, the thesis's grid)" if margins == (1.0, 2.0) else ""
        lines.append(f"| {margins[0]:g} / {margins[1]:g}{note} | {taus[0]:.3f} | {taus[1]:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Reproduce the thesis's tolerance figures (Fig. 2, Fig. 5).")
    parser.add_argument("out_dir", help="folder for the PNGs and the synthetic CSV (created if missing)")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    forward = combined_fit(thesis_distributions(), 3)
    reverse = combined_fit(thesis_distributions(), 3, direction="data-model")
    csv_path = synthetic_errors_csv(args.out_dir)
    errors_path, tau, tau_stderr = errors_figure(args.out_dir, csv_path)
    written = [
        figure_2(args.out_dir),
        figure_5(args.out_dir, forward),
        ns_auto_figure(args.out_dir),
        csv_path,
        errors_path,
    ]
    print("## Combined fit: ours vs thesis\n")
    print(reproduction_table(forward, reverse))
    print("\n## Fitting grid margins and τ\n")
    print(margin_table())
    print(f"\n## τ from synthetic errors (made with τ = 0.6): {tau:.3f} ± {tau_stderr:.3f}\n")
    print("written:\n" + "\n".join(f"  {path}" for path in written))


if __name__ == "__main__":
    main()
