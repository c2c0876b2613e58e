"""Classification error of a model on a split, overall and per data scale
(thesis Fig. 4: every test digit shown at each scale of an evaluation grid)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from sesn.data.base import ScaleDataset

# Samples per evaluation batch: no gradients are kept, so batches can be far
# larger than training's (the toy network at 256 holds about 0.5 GB of activations).
EVAL_BATCH = 256


@torch.inference_mode()
def count_errors(model: nn.Module, batches: Iterable, *, limit: int | None = None) -> tuple[int, int]:
    """(misclassified, seen) over `batches` of (x, y, s), stopping after the
    first `limit` samples. The model is put in eval mode."""
    model.eval()
    wrong, seen = 0, 0
    for x, y, _ in batches:
        if limit is not None and seen + len(y) > limit:
            x, y = x[: limit - seen], y[: limit - seen]
        wrong = wrong + (model(x).argmax(1) != y).sum()  # stays on the device: no sync per batch
        seen += len(y)
        if limit is not None and seen >= limit:
            break
    return int(wrong), seen


def error_rate(model: nn.Module, split: ScaleDataset, *, batch_size: int, device, limit: int | None = None) -> float:
    """Fraction of the split's samples (the first `limit`) misclassified."""
    wrong, seen = count_errors(model, split.loader(batch_size, device=device), limit=limit)
    return wrong / seen


def per_scale_errors(
    model: nn.Module,
    split: ScaleDataset,
    grid: Iterable[float],
    *,
    batch_size: int,
    device,
    limit: int | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Error fraction [D] and sample count [D] with every one of the split's
    (first `limit`) digits shown at each data scale of `grid` [D]."""
    errors, counts = [], []
    for scale in tqdm(grid, desc="per-scale test", unit="scale", disable=not progress, leave=False):
        batches = split.at_scale(float(scale)).loader(batch_size, device=device)
        wrong, seen = count_errors(model, batches, limit=limit)
        errors.append(wrong / seen)
        counts.append(seen)
    return np.asarray(errors, np.float64), np.asarray(counts, np.int32)
