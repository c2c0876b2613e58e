"""SS-CNN (Ghosh & Gupta 2019, "Scale steerable filters for locally
scale-invariant convolutional neural networks"; thesis Table 5 row "SS-CNN"):
filters are combinations of log-radial harmonics
ψ(r, φ) = exp(−d(φ, φ₀)²/2σ_φ²) · r⁻¹ · exp(i(κ log r + phase)), d the angular
distance to the axis φ₀ (mod π). Scaled by s, such a function is itself
times a number: ψ(r/s, φ) = s·e^(−iκ log s)·ψ(r, φ). So rotating the complex
coefficients of a filter W = Re Σ c·ψ by −κ log s (and cropping the basis to
radius 3s) gives W(x/s)/s: one set of coefficients serves every scale. Each
layer convolves at every scale and keeps ReLU(max over scales).
Settings of SESN's re-implementation (Sosnovik et al. 2020) with the scales of
thesis Table 7, s ∈ {1, 1.33, 1.67, 2, 2.33} (radii 3 … 7 px): radial
frequencies κ = 2πk/log 7 for k ∈ {0.5, 1, 2}, nine axes φ₀ = 0, π/8, …, π
(the source's linspace, 0 and π being one axis), σ_φ = π/16, phase −π/4, every
complex basis function of unit norm on the 15×15 grid (the source normalises
the real and imaginary parts apart, which breaks the steering a little),
channels 30, 60, 90, no bias; ≈486k parameters (the source's 494k count
includes 7.4k it never uses).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sesn.baselines.protocol import ProtocolNet

SCALES = (1.0, 4 / 3, 5 / 3, 2.0, 7 / 3)
BASE_RADIUS = 3  # px: the filter's radius at scale 1
CHANNELS = (30, 60, 90)
ORDERS = (0.5, 1.0, 2.0)  # radial cycles k over log r ∈ [0, log R]
AXES = tuple(math.pi * j / 8 for j in range(9))
ANGULAR_WIDTH = math.pi / 16  # σ_φ
PHASE = -math.pi / 4


def radius_at(scale: float) -> int:
    """The filter's radius (px) at ``scale``: round(3·s)."""
    return round(BASE_RADIUS * scale)


def log_radial_harmonics(radius: int) -> tuple[Tensor, Tensor, Tensor]:
    """(real, imag, κ): the complex basis on the (2R+1)² grid, R = ``radius``
    px, its parts [len(ORDERS), len(AXES), 2R+1, 2R+1], every function of unit
    L2 norm and zero beyond R; κ [len(ORDERS)] the radial frequencies 2πk/log R. The
    centre pixel counts as r = 1, φ = 0."""
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    rows, cols = torch.meshgrid(offsets, offsets, indexing="ij")
    r = torch.hypot(rows, cols)
    inside = r <= radius
    r[radius, radius] = 1.0
    phi = torch.atan2(-rows, cols)
    axes = torch.tensor(AXES, dtype=torch.float64)[:, None, None]
    turn = torch.remainder(phi - axes, math.pi)
    angular = torch.exp(-(torch.minimum(turn, math.pi - turn) ** 2) / (2 * ANGULAR_WIDTH**2))  # [axes, n, n]
    kappa = 2 * math.pi * torch.tensor(ORDERS, dtype=torch.float64) / math.log(radius)
    argument = kappa[:, None, None, None] * torch.log(r) + PHASE  # [orders, 1, n, n]
    envelope = angular / r * inside
    real, imag = envelope * torch.cos(argument), envelope * torch.sin(argument)
    norm = (real.pow(2) + imag.pow(2)).sum((-2, -1), keepdim=True).sqrt()
    return (real / norm).float(), (imag / norm).float(), kappa.float()


class ScaleSteerableConv(nn.Module):
    """Convolution with steerable filters at every scale: [B, I, H, W] →
    ``responses`` [B, O, S, H, W] ("same" padding) → forward: ReLU of the
    max over the scales, [B, O, H, W]. Weights: complex coefficients
    (real, imag) [orders, O, I, axes]."""

    basis_real: Tensor
    basis_imag: Tensor
    kappa: Tensor

    def __init__(self, in_channels: int, out_channels: int, scales: Sequence[float] = SCALES):
        super().__init__()
        self.scales = tuple(float(s) for s in scales)
        self.radii = [radius_at(s) for s in self.scales]
        real, imag, kappa = log_radial_harmonics(max(self.radii))
        self.register_buffer("basis_real", real, persistent=False)
        self.register_buffer("basis_imag", imag, persistent=False)
        self.register_buffer("kappa", kappa, persistent=False)
        shape = (len(ORDERS), out_channels, in_channels, len(AXES))
        bound = math.sqrt(2 / (len(AXES) * in_channels * out_channels))  # the source's initialisation
        self.coef_real = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
        self.coef_imag = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))

    def kernel(self, index: int) -> Tensor:
        """The filters at scale ``scales[index]``: [O, I, 2r+1, 2r+1], r its radius."""
        turn = (-self.kappa * math.log(self.scales[index]))[:, None, None, None]
        real = self.coef_real * turn.cos() - self.coef_imag * turn.sin()
        imag = self.coef_real * turn.sin() + self.coef_imag * turn.cos()
        centre, r = self.basis_real.shape[-1] // 2, self.radii[index]
        window = slice(centre - r, centre + r + 1)
        basis_real = self.basis_real[..., window, window]
        basis_imag = self.basis_imag[..., window, window]
        return torch.einsum("koia,kaxy->oixy", real, basis_real) - torch.einsum("koia,kaxy->oixy", imag, basis_imag)

    def responses(self, x: Tensor) -> Tensor:
        outputs = [F.conv2d(x, self.kernel(i), padding=r) for i, r in enumerate(self.radii)]
        return torch.stack(outputs, dim=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.responses(x).amax(dim=2))


class MnistScaleSSCNN(ProtocolNet):
    """SS-CNN on MNIST-Scale: upsample ×2 → three blocks (scale-steerable conv
    with ReLU, max pool, batch norm) → head. Input [B, 1, 28, 28] → logits [B, 10]."""

    def __init__(self, *, scales: Sequence[float] = SCALES, channels: tuple[int, int, int] = CHANNELS):
        super().__init__(lambda c_in, c_out: ScaleSteerableConv(c_in, c_out, scales), channels, relu=False)
