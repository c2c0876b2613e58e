"""Figures of the thesis drawn from results files (matplotlib; each function
takes `ax=None` and returns the axis it drew on).

- Fig. 3: test error against the ISR, one line per data range.
- Fig. 4: test error per data scale, one line per ISR, for one data range.
- Fig. 6: σ_basis / ISR against the epoch, from a run's metrics.csv.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from scaletol.files import atomic_write

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _axis(ax: Axes | None) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3.5))
    return ax


def plot_error_vs_isr(
    parts: list[tuple[tuple[float, float], xr.Dataset]],
    suggested: dict[tuple[float, float], float] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Mean ± std (over seeds) test error [%] against the ISR for each
    (range, isr-grid) pair, as from `scaletol.results.by_range`; a dashed line
    marks each range's `suggested` ISR (tolerance model)."""
    ax = _axis(ax)
    for (lo, hi), grid in parts:
        errors = 100 * grid["test_error"]
        line = ax.errorbar(
            grid["isr"].values,
            errors.mean("seed").values,
            yerr=errors.std("seed").values,
            marker="o",
            capsize=3,
            label=f"log-uniform [{lo:.3g}, {hi:.3g}]",
        )
        if suggested and (lo, hi) in suggested:
            ax.axvline(suggested[(lo, hi)], color=line[0].get_color(), linestyle="--", linewidth=1)
    if suggested:
        ax.plot([], [], color="0.4", linestyle="--", linewidth=1, label="suggested ISR (tolerance model)")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter("{x:g}")
    ax.xaxis.set_minor_formatter("{x:g}")
    ax.set_xlabel("internal scale range (ISR)")
    ax.set_ylabel("test error [%]")
    ax.legend(fontsize="small")
    return ax


def plot_error_per_scale(
    grid: xr.Dataset, data_range: tuple[float, float] | None = None, ax: Axes | None = None
) -> Axes:
    """Mean (over seeds) test error [%] against the data scale (log2 axis),
    one line per ISR of the (seed, isr) `grid`; the data range is shaded."""
    ax = _axis(ax)
    x = np.log2(grid["data_scale"].values)
    mean = 100 * grid["error"].mean("seed")
    for isr in grid["isr"].values:
        ax.plot(x, mean.sel(isr=isr).values, label=f"ISR {isr:.2f}")
    if data_range is not None:
        ax.axvspan(np.log2(data_range[0]), np.log2(data_range[1]), color="0.9", zorder=0)
        ax.set_title(f"[{data_range[0]:.3g}, {data_range[1]:.3g}]")
    ax.set_xlabel("data scale [log2]")
    ax.set_ylabel("test error [%]")
    ax.legend(fontsize="x-small")
    return ax


def plot_scales_over_epochs(metrics: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """ISR (and σ_basis [px]) of a run's metrics.csv against the epoch (Fig. 6)."""
    from matplotlib.ticker import MaxNLocator

    ax = _axis(ax)
    ax.plot(metrics["epoch"], metrics["isr"], marker=".", label="ISR")
    ax.plot(metrics["epoch"], metrics["sigma_basis"], marker=".", label="σ_basis [px]")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))  # the default locator, whole epochs
    ax.legend(fontsize="small")
    return ax


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Lay out `fig`, write it atomically (format from the suffix, default
    png) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    suffix = Path(path).suffix.lstrip(".") or "png"
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format=suffix))
    finally:
        plt.close(fig)
