import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from scaletol.figures import plot_error_per_scale, plot_error_vs_isr, plot_scales_over_epochs, save_figure
from scaletol.results import as_config_cell, by_range, merge_results, run_results
from tolerance.validation import compare_with_tolerance

GRID = [0.5, 1.0, 2.0, 4.0, 8.0]


def sweep(errors_by_range):
    """A (seed, config) grid over data ranges: errors_by_range {(lo, hi): {isr: [error per seed]}}."""
    cells, index = [], 0
    for (lo, hi), by_isr in errors_by_range.items():
        for isr, errors in by_isr.items():
            for seed, error in enumerate(errors):
                description = {
                    "seed": seed,
                    "ns": 3,
                    "sigma_unit": 2.0,
                    "model": "toy-fixed",
                    "dataset": "dynamic-mnist",
                    "dist": "loguniform",
                    "range": [lo, hi],
                    "mode": "fixed",
                }
                run = run_results(
                    description=description,
                    data_scale=GRID,
                    error=np.full(5, error),
                    n=[10] * 5,
                    scales=[2.0, 2.0 * isr**0.5, 2.0 * isr],
                    test_error=error,
                    val_error=error,
                    isr=isr,
                )
                cells.append(as_config_cell(run, index, range_lo=lo, range_hi=hi))
            index += 1
    return merge_results(cells)


def test_best_swept_isr_sits_beside_the_tolerance_suggestion():
    grid = sweep(
        {
            (1.0, 2**1.5): {1.5: [0.03, 0.05], 2.38: [0.02, 0.022], 6.0: [0.04, 0.04]},
            (1.0, 8.0): {1.5: [0.06, 0.06], 2.38: [0.05, 0.05], 6.0: [0.03, 0.031]},
        }
    )
    table = compare_with_tolerance(grid).set_index("range_hi")
    narrow, wide = table.loc[2**1.5], table.loc[8.0]
    assert (narrow.best_isr, wide.best_isr) == (2.38, 6.0)
    assert narrow.best_error == pytest.approx(2.1) and narrow.best_error_std == pytest.approx(np.std([2, 2.2], ddof=1))
    # the thesis's combined fit (τ = 0.459): ISR 2.893 on [1, 2.83] and 6.320 on [1, 8]
    assert narrow.suggested_isr == pytest.approx(2.893, rel=0.01)
    assert wide.suggested_isr == pytest.approx(6.320, rel=0.01)
    assert (narrow.nearest_isr, wide.nearest_isr) == (2.38, 6.0)
    assert wide.suggested_sigma_basis == pytest.approx(2.0 * wide.suggested_c_ref)


def test_figures_draw_every_line(tmp_path):
    grid = sweep({(1.0, 8.0): {2.0: [0.05], 4.0: [0.04], 6.0: [0.03]}})
    parts = by_range(grid)
    ax = plot_error_vs_isr(parts, {(1.0, 8.0): 6.3})
    assert len(ax.lines) >= 2 and ax.get_xscale() == "log"
    assert "suggested ISR (tolerance model)" in ax.get_legend_handles_labels()[1]
    ax = plot_error_per_scale(parts[0][1], (1.0, 8.0))
    assert len(ax.lines) == 3
    assert ax.lines[0].get_xdata() == pytest.approx(np.log2(GRID))
    metrics = pd.DataFrame({"epoch": [1, 2, 3], "isr": [3.0, 3.4, 3.9], "sigma_basis": [2.0, 1.9, 1.95]})
    ax = plot_scales_over_epochs(metrics)
    assert list(ax.lines[0].get_ydata()) == [3.0, 3.4, 3.9]
    path = save_figure(ax.figure, tmp_path / "fig6.png")
    assert path.read_bytes().startswith(b"\x89PNG")
