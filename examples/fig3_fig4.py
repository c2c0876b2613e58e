"""Thesis Fig. 3 and Fig. 4 (§4.1.1): test error of the toy network with fixed
internal scales against the ISR, on log-uniform data scales in [1, 2.83],
[1, 4.76] and [1, 8]; and the tolerance model's suggested ISR beside the best
swept ISR.

    python examples/fig3_fig4.py [--protocol reduced|medium|full] [--out runs/reduced]

Writes ROOT/fig3.png, ROOT/fig4.png and ROOT/fig3_fig4.md (the table). The
same as `tolcli sweep --model toy-fixed --isr-grid ... --range ...` followed by
`tolcli validate ROOT/isr-sweep/results.nc --fig3 ... --fig4 ...`.
"""

from __future__ import annotations

import click
import matplotlib

matplotlib.use("Agg")
from training_protocol import example_options, isr_sweep, setup, write_report  # noqa: E402

from scaletol.figures import plot_error_per_scale_by_range, plot_error_vs_isr, save_figure  # noqa: E402
from scaletol.results import by_range  # noqa: E402
from tolerance.validation import compare_with_tolerance  # noqa: E402

THESIS_BEST_ISR = (2.38, 4.76, 5.35)  # Fig. 3 (Table 2 gives 2.34 for [1, 2.83])
THESIS_SUGGESTED_ISR = (2.893, 4.319, 6.320)  # Fig. 5, combined fit, τ = 0.459


@click.command(help=__doc__)
@example_options
def main(protocol, out, data_root, device, quiet):
    p, root, run, started = setup(protocol, out, data_root, device, quiet)
    sweep = isr_sweep(p, root, **run)
    table = compare_with_tolerance(sweep)
    parts = by_range(sweep)

    ax = plot_error_vs_isr(parts, {(r.range_lo, r.range_hi): r.suggested_isr for r in table.itertuples()})
    save_figure(ax.figure, root / "fig3.png")
    save_figure(plot_error_per_scale_by_range(parts)[0].figure, root / "fig4.png")

    lines = [
        f"Fig. 3 ({p.name} protocol: {len(p.isrs)} ISRs, {len(p.toy_seeds)} seed(s), "
        f"{p.toy_sizes[0]} training digits, {p.toy_epochs} epochs)",
        "",
        "| data range | best swept ISR (thesis) | best swept ISR (ours) | test error % at best (ours) "
        "| suggested ISR, τ = 0.459 (thesis) | suggested ISR (ours) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row, best, suggested in zip(table.itertuples(), THESIS_BEST_ISR, THESIS_SUGGESTED_ISR):
        lines.append(
            f"| [{row.range_lo:g}, {row.range_hi:.3g}] | {best} | {row.best_isr:.2f} | "
            f"{row.best_error:.2f} | {suggested} | {row.suggested_isr:.3f} |"
        )
    lines += [
        "",
        "test error % (mean over seeds) per swept ISR:",
        "",
        "| data range | " + " | ".join(f"ISR {isr:.2f}" for isr in p.isrs) + " |",
        "|---|" + "---:|" * len(p.isrs),
    ]
    for (lo, hi), grid in parts:
        errors = 100 * grid["test_error"].mean("seed")
        lines.append(f"| [{lo:g}, {hi:.3g}] | " + " | ".join(f"{e:.2f}" for e in errors.values) + " |")
    write_report(root, "fig3_fig4", "\n".join(lines), started)


if __name__ == "__main__":
    main()
