"""DSS (Worrall & Welling 2019, "Deep scale-spaces: equivariance over scale";
thesis Table 5 row "DSS"): the input is lifted to a scale-space — level k is
the image blurred by Lindeberg's discrete Gaussian of variance
t_k = σ₀²(b^(2k) − 1) — and every convolution filters level k with the same
7×7 filter dilated by b^k, so a digit b times larger moves one level up
(scale-space equivariance to the semigroup of dilations). The "vector"
variant of SESN's re-implementation (Sosnovik et al. 2020): the scale axis is
kept through the three blocks (no mixing between levels) and max-pooled before
the head. Settings from it with the scales of thesis Table 7: levels 1 and 2
(base b = 2, two levels), σ₀ = 0.25 px, the blur's taps cut at
4·⌈√t⌉ px, no convolution bias, He-normal initialisation, channels 32, 63, 95,
batch norm per channel over (batch, level, space); ≈494k parameters.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import ive
from torch import Tensor, nn

from sesn.baselines.protocol import CHANNELS, KERNEL_SIZE, head
from sesn.nn.layers import ScaleProjection

BASE = 2
LEVELS = 2
ZERO_SCALE = 0.25  # px, the input's assumed blur σ₀


def level_variances(levels: int = LEVELS, base: float = BASE, zero_scale: float = ZERO_SCALE) -> list[float]:
    """Variances t_k = σ₀²(b^(2k) − 1) px² of the blur that takes the input to level k."""
    return [zero_scale**2 * (base ** (2 * k) - 1) for k in range(levels)]


def discrete_gaussian(variance: float) -> Tensor:
    """Lindeberg's discrete Gaussian T(n; t) = e^(−t) I_n(t) for |n| ≤ 4⌈√t⌉,
    normalised to sum 1: [2·4⌈√t⌉ + 1]."""
    reach = 4 * math.ceil(math.sqrt(variance))
    taps = ive(np.abs(np.arange(-reach, reach + 1)), variance)
    return torch.from_numpy(taps / taps.sum()).float()


class ScaleSpace(nn.Module):
    """Lifts [B, C, H, W] to [B, C, L, H, W]: level k is the input blurred by
    ``discrete_gaussian(t_k)`` (separable, zero padding; level 0 is the input)."""

    def __init__(self, levels: int = LEVELS, base: float = BASE, zero_scale: float = ZERO_SCALE):
        super().__init__()
        self.variances = level_variances(levels, base, zero_scale)
        for k, variance in enumerate(self.variances[1:], start=1):
            self.register_buffer(f"blur_{k}", discrete_gaussian(variance), persistent=False)

    def blur(self, x: Tensor, k: int) -> Tensor:
        taps = getattr(self, f"blur_{k}").to(x.dtype)
        flat = x.reshape(-1, 1, *x.shape[-2:])
        reach = taps.numel() // 2
        flat = F.conv2d(flat, taps.view(1, 1, 1, -1), padding=(0, reach))
        flat = F.conv2d(flat, taps.view(1, 1, -1, 1), padding=(reach, 0))
        return flat.reshape(x.shape)

    def forward(self, x: Tensor) -> Tensor:
        return torch.stack([x] + [self.blur(x, k) for k in range(1, len(self.variances))], dim=2)


class DilatedScaleConv(nn.Module):
    """A 7×7 filter bank (no bias) applied to level k of [B, I, L, H, W] with
    dilation base^k ("same" padding) → [B, O, L, H, W]."""

    def __init__(self, in_channels: int, out_channels: int, levels: int = LEVELS, base: int = BASE):
        super().__init__()
        self.dilations = [base**k for k in range(levels)]
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, KERNEL_SIZE, KERNEL_SIZE))
        nn.init.normal_(self.weight, std=math.sqrt(2 / (in_channels * KERNEL_SIZE**2)))  # He

    def forward(self, x: Tensor) -> Tensor:
        reach = KERNEL_SIZE // 2
        outputs = [
            F.conv2d(x[:, :, k], self.weight, padding=reach * d, dilation=d) for k, d in enumerate(self.dilations)
        ]
        return torch.stack(outputs, dim=2)


class MnistScaleDSS(nn.Module):
    """DSS on MNIST-Scale: upsample ×2 → scale-space → three blocks (dilated
    scale conv, ReLU, 2×2 spatial max pool, batch norm) → max over levels →
    head. Input [B, 1, 28, 28] → logits [B, 10]."""

    def __init__(self, *, levels: int = LEVELS, channels: tuple[int, int, int] = CHANNELS):
        super().__init__()
        c1, c2, c3 = channels
        self.features = nn.Sequential(
            nn.Upsample(scale_factor=2),
            ScaleSpace(levels),
            DilatedScaleConv(1, c1, levels),
            nn.ReLU(),
            nn.MaxPool3d((1, 2, 2)),
            nn.BatchNorm3d(c1),
            DilatedScaleConv(c1, c2, levels),
            nn.ReLU(),
            nn.MaxPool3d((1, 2, 2)),
            nn.BatchNorm3d(c2),
            DilatedScaleConv(c2, c3, levels),
            nn.ReLU(),
            nn.MaxPool3d((1, 8, 8), padding=(0, 2, 2)),
            nn.BatchNorm3d(c3),
            ScaleProjection("max"),
        )
        self.head = head(4 * c3)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).flatten(1))
