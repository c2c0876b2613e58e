"""SEVF (Marcos et al. 2018, "Scale equivariance in CNNs with vector fields";
thesis Table 5 row "SEVF"): every convolution runs on the input resized by
each of N scales s (bilinear), its responses are resized back, and the max over
the scales is kept with the arg-max scale; SEVF encodes the pair as a vector
(length max, angle ∝ log s) so that a rescaled input rotates the vectors. The
Table 5 row is the scalar variant of SESN's re-implementation (Sosnovik et al.
2020; Table 7 has no row for SEVF): the vector's length ReLU(max) passes on, the
angle is not used, so the layer is a max over scales. Settings from it: 8
scales 1.26^k, k = −4 … 3 (0.40 … 2.0), 7×7 filters without bias, channels 32,
63, 95; ≈495k parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sesn.baselines.protocol import CHANNELS, KERNEL_SIZE, ProtocolNet

SCALES = tuple(1.26**k for k in range(-4, 4))


def resize(x: Tensor, size: int) -> Tensor:
    """x [B, C, H, H] bilinearly resized to size × size px."""
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


class ScaleMaxConv(nn.Module):
    """A 7×7 filter bank (no bias, "same" padding) applied to the input resized
    by every scale s (to round(H·s) px), its responses resized back to H:
    ``responses`` [B, I, H, H] → [B, O, S, H, H]; forward → ReLU of the max
    over the scales, [B, O, H, H]."""

    def __init__(self, in_channels: int, out_channels: int, scales: Sequence[float] = SCALES):
        super().__init__()
        self.scales = tuple(float(s) for s in scales)
        self.conv = nn.Conv2d(in_channels, out_channels, KERNEL_SIZE, padding=KERNEL_SIZE // 2, bias=False)

    def responses(self, x: Tensor) -> Tensor:
        size = x.shape[-1]
        return torch.stack([resize(self.conv(resize(x, round(size * s))), size) for s in self.scales], dim=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.responses(x).amax(dim=2))


class MnistScaleSEVF(ProtocolNet):
    """SEVF (scalar) on MNIST-Scale: upsample ×2 → three blocks (scale-max conv
    with ReLU, max pool, batch norm) → head. Input [B, 1, 28, 28] → logits [B, 10]."""

    def __init__(self, *, scales: Sequence[float] = SCALES, channels: tuple[int, int, int] = CHANNELS):
        super().__init__(lambda c_in, c_out: ScaleMaxConv(c_in, c_out, scales), channels, relu=False)
