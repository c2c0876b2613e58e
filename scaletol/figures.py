"""Figures of the thesis drawn from results files, and the one way to make
axes and save figures that every plot of scaletol uses.

- Fig. 3: test error against the ISR, one line per data range.
- Fig. 4: test error per data scale, one line per ISR, for one data range
  (or a panel per range).
- Fig. 6: σ_basis / ISR against the epoch, from a run's metrics.csv.

Every plotting function takes `ax=None` (then draws on a new figure) and
returns the axis it drew on. matplotlib is imported only when drawing or
saving.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scaletol.checks import InputError, MissingFileError
from scaletol.files import atomic_write, unwritable

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr
    from matplotlib.axes import Axes
    from matplotlib.figure import FigureBase

FIGSIZE = (5.0, 3.5)  # inches, of a new one-panel figure


def axis_or_new(ax: Axes | None = None, *, figsize: tuple[float, float] = FIGSIZE) -> Axes:
    """`ax`, or the axis of a new pyplot figure of `figsize` inches when None."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def figure_format(path: str | os.PathLike) -> str:
    """The image format named by `path`'s suffix, if `path` could be written:
    its folder must exist (else MissingFileError) and take a new file, and
    matplotlib must know the format (else InputError). Call it before any
    long work."""
    from matplotlib.figure import Figure

    path = Path(path)
    folder = path.absolute().parent
    if not folder.is_dir():
        raise MissingFileError(f"figure={str(path)!r} must be in an existing folder ({folder} does not exist)", folder)
    if path.is_dir():
        raise InputError(f"figure={str(path)!r} must be a file, not a folder")
    problem = unwritable(folder)
    if problem:
        raise InputError(f"figure={str(path)!r} must be in a writable folder ({problem})")
    fmt = path.suffix.lstrip(".").lower()
    formats = Figure().canvas.get_supported_filetypes()
    if fmt not in formats:
        raise InputError(
            f"figure={str(path)!r} must have a suffix naming an image format, e.g. .png (one of {', '.join(formats)})"
        )
    return fmt


def save_figure(figure: FigureBase, path: str | os.PathLike, *, dpi: float | None = None) -> Path:
    """Write `figure` (e.g. ``ax.figure``; a subfigure writes its whole
    figure) to `path` atomically, in the format of its suffix (see
    `figure_format`), at `dpi` (default: the figure's own), and release it
    from pyplot. A figure without a layout engine is laid out tightly first."""
    figure = figure.get_figure(root=True)
    fmt = figure_format(path)
    if figure.get_layout_engine() is None:
        figure.tight_layout()
    try:
        return atomic_write(path, lambda tmp: figure.savefig(tmp, format=fmt, dpi="figure" if dpi is None else dpi))
    finally:
        if figure.canvas.manager is not None:  # made by pyplot, which keeps it until closed
            import matplotlib.pyplot as plt

            plt.close(figure)


def plot_error_vs_isr(
    parts: list[tuple[tuple[float, float], xr.Dataset]],
    suggested: dict[tuple[float, float], float] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Mean ± std (over seeds) test error [%] against the ISR for each
    (range, isr-grid) pair, as from `scaletol.results.by_range`; a dashed line
    marks each range's `suggested` ISR (tolerance model)."""
    ax = axis_or_new(ax)
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
    ax = axis_or_new(ax)
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


def plot_error_per_scale_by_range(
    parts: list[tuple[tuple[float, float], xr.Dataset]], axes: np.ndarray | None = None
) -> np.ndarray:
    """Fig. 4 for every data range: one `plot_error_per_scale` panel per
    (range, isr-grid) pair of `by_range`, on `axes` (default: a new figure
    with a row of panels). Returns the axes."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, len(parts), figsize=(4.5 * len(parts), FIGSIZE[1]), squeeze=False)
    axes = np.ravel(axes)
    for ax, (bounds, grid) in zip(axes, parts):
        plot_error_per_scale(grid, bounds, ax=ax)
    return axes


def plot_scales_over_epochs(metrics: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """ISR (and σ_basis [px]) of a run's metrics.csv against the epoch (Fig. 6)."""
    from matplotlib.ticker import MaxNLocator

    ax = axis_or_new(ax)
    ax.plot(metrics["epoch"], metrics["isr"], marker=".", label="ISR")
    ax.plot(metrics["epoch"], metrics["sigma_basis"], marker=".", label="σ_basis [px]")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))  # the default locator, whole epochs
    ax.legend(fontsize="small")
    return ax
