"""SiCNN (Xu et al. 2014, "Scale-invariant convolutional neural networks";
thesis Table 5 row "SiCNN"): one column per scale s, every column using the
same 7×7 filters interpolated to s·7 px (nearest-neighbour upscaling for
s > 1, Xu et al.'s minimum-norm choice; bilinear splatting for s < 1), each
rescaled filter renormalised to the L1 norm of the original. A column sees
only its own column of the layer below; the columns are max-pooled after the
last block. Settings of SESN's re-implementation (Sosnovik et al. 2020) with
the scales of thesis Table 7: s ∈ {0.3, 0.45, 0.67, 1, 1.49, 2.23, 3.33},
channels 32, 63, 95 per column, no convolution bias, batch norm per column
and channel; ≈497k parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sesn.baselines.protocol import CHANNELS, KERNEL_SIZE, final_pool, head

SCALES = (0.3, 0.45, 0.67, 1.0, 1.49, 2.23, 3.33)


def kernel_radius(scale: float, size: int = KERNEL_SIZE) -> int:
    """Half-width (px) of a size×size kernel rescaled by ``scale``: its
    nearest-neighbour image ends at size/2·s, its splat at (size−1)/2·s + 1."""
    return max(math.floor(size / 2 * scale), math.ceil((size - 1) / 2 * scale))


def interpolation_matrix(scale: float, size: int = KERNEL_SIZE) -> Tensor:
    """A [2r+1, size] with A[x, u] the weight of kernel tap u on pixel x of the
    kernel rescaled by ``scale`` (r = kernel_radius): nearest neighbour
    (x/s rounds to u) for s ≥ 1, the bilinear tent max(0, 1 − |x − s·u|) for s < 1."""
    radius = kernel_radius(scale, size)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)[:, None]
    u = torch.arange(size, dtype=torch.float64)[None, :] - (size - 1) / 2
    if scale >= 1:
        return (torch.floor(x / scale + 0.5) == u).double()
    return (1 - (x - scale * u).abs()).clamp(min=0)


def rescale_kernels(weight: Tensor, scale: float) -> Tensor:
    """weight [O, I, k, k] rescaled by ``scale`` → [O, I, 2r+1, 2r+1], each
    filter with the L1 norm of the original."""
    a = interpolation_matrix(scale, weight.shape[-1]).to(weight)
    rescaled = torch.einsum("xu,oiuv,yv->oixy", a, weight, a)
    norm = weight.abs().sum((-2, -1), keepdim=True)
    return rescaled * norm / rescaled.abs().sum((-2, -1), keepdim=True).clamp(min=1e-12)


class ColumnConv(nn.Module):
    """One 7×7 filter bank applied at every scale, column by column.

    Input [B, S_in·I, H, W] with S_in = 1 (every column reads it) or
    len(scales) (scale-major: column j holds channels j·I … (j+1)·I − 1);
    output [B, S·O, H, W], column j convolved with the filters rescaled by
    scales[j] ("same" zero padding)."""

    def __init__(self, in_channels: int, out_channels: int, scales: Sequence[float], *, shared_input: bool):
        super().__init__()
        self.scales = tuple(float(s) for s in scales)
        self.shared_input = shared_input
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, KERNEL_SIZE, KERNEL_SIZE))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # nn.Conv2d's default

    def forward(self, x: Tensor) -> Tensor:
        columns = [x] * len(self.scales) if self.shared_input else x.chunk(len(self.scales), dim=1)
        outputs = []
        for column, scale in zip(columns, self.scales):
            kernel = rescale_kernels(self.weight, scale)
            outputs.append(F.conv2d(column, kernel, padding=kernel.shape[-1] // 2))
        return torch.cat(outputs, dim=1)


class MnistScaleSiCNN(nn.Module):
    """SiCNN on MNIST-Scale: upsample ×2 → three blocks (column conv, ReLU,
    max pool, batch norm per column) → max over columns → head.
    Input [B, 1, 28, 28] → logits [B, 10]."""

    def __init__(self, *, scales: Sequence[float] = SCALES, channels: tuple[int, int, int] = CHANNELS):
        super().__init__()
        c1, c2, c3 = channels
        n = len(scales)
        self.columns = n
        self.features = nn.Sequential(
            nn.Upsample(scale_factor=2),
            ColumnConv(1, c1, scales, shared_input=True),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(n * c1),
            ColumnConv(c1, c2, scales, shared_input=False),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(n * c2),
            ColumnConv(c2, c3, scales, shared_input=False),
            nn.ReLU(),
            final_pool(),
            nn.BatchNorm2d(n * c3),
        )
        self.head = head(4 * c3)

    def forward(self, x: Tensor) -> Tensor:
        columns = self.features(x)
        pooled = columns.unflatten(1, (self.columns, -1)).amax(dim=1)
        return self.head(pooled.flatten(1))
