"""A picture of a dataset split: some of its digits as the loader serves them,
and the same digits at chosen data scales."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.figure import Figure

from scaletol.checks import check_int
from sesn.data.base import ScaleDataset, seeded_generator

PANEL_INCHES = 1.5
DPI = 112  # a 168 px canvas at about its own resolution


def preview_figure(
    split: ScaleDataset, scales: Sequence[float], *, count: int = 4, seed: int = 0, title: str = ""
) -> Figure:
    """Rows: the first `count` digits of `split`. Column 0: each as served
    (its own scale, augmentation included); then one column per data scale in
    `scales` (split.at_scale). Pixel values shown un-normalised, 0 black, 1 white,
    on the full canvas."""
    check_int("count", count, low=1, high=len(split))
    index = torch.arange(count)
    columns = [("as served", split)] + [(f"at s = {scale:.3g}", split.at_scale(scale)) for scale in scales]
    figure = Figure(figsize=(PANEL_INCHES * len(columns), PANEL_INCHES * count + 0.6), dpi=DPI)
    axes = figure.subplots(count, len(columns), squeeze=False)
    for col, (heading, dataset) in enumerate(columns):
        x, y, s = dataset.batch(index, seeded_generator(seed))
        pixels = (x[:, 0] * dataset.std + dataset.mean).clamp(0, 1)
        axes[0, col].set_title(heading, fontsize=9)
        for row in range(count):
            ax = axes[row, col]
            ax.imshow(pixels[row].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(f"digit {y[row].item()}", fontsize=8)
                ax.set_xlabel(f"s = {s[row].item():.2f}", fontsize=8)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure
