"""SI-ConvNet (Kanazawa et al. 2014, "Locally scale-invariant convolutional
neural networks"; thesis Table 5 row "SI-ConvNet"): every convolution runs on
a pyramid of the input rescaled about its centre by each scale s (bilinear,
cropped or zero-padded back to the input's size), its responses are rescaled
back by 1/s, and the pixelwise max over the scales is the layer's output —
one 7×7 filter bank (with bias) sees every scale. Settings of SESN's
re-implementation (Sosnovik et al. 2020) with the scales of thesis Table 7:
s ∈ {0.3, 0.45, 0.67, 1, 1.49, 2.23, 3.33}, channels 32, 63, 95; ≈495k
parameters, as many as the CNN.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sesn.baselines.protocol import CHANNELS, KERNEL_SIZE, ProtocolNet

SCALES = (0.3, 0.45, 0.67, 1.0, 1.49, 2.23, 3.33)


def zoom(x: Tensor, scale: float) -> Tensor:
    """x [B, C, H, W] magnified by ``scale`` about the image centre, same size:
    out(p) = x(c + (p − c)/scale), bilinear, zero outside the image."""
    if scale == 1:
        return x
    theta = torch.tensor([[1 / scale, 0.0, 0.0], [0.0, 1 / scale, 0.0]], dtype=x.dtype, device=x.device)
    grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class ScalePyramidConv(nn.Conv2d):
    """A 7×7 convolution ("same" padding) applied to ``zoom(x, s)`` for every
    scale s, zoomed back by 1/s and max-pooled over the scales:
    [B, I, H, W] → [B, O, H, W]."""

    def __init__(self, in_channels: int, out_channels: int, scales: Sequence[float]):
        super().__init__(in_channels, out_channels, KERNEL_SIZE, padding=KERNEL_SIZE // 2)
        self.scales = tuple(float(s) for s in scales)

    def forward(self, x: Tensor) -> Tensor:
        responses = [zoom(self._conv_forward(zoom(x, s), self.weight, self.bias), 1 / s) for s in self.scales]
        return torch.stack(responses).amax(dim=0)


class MnistScaleSIConvNet(ProtocolNet):
    """SI-ConvNet on MNIST-Scale: upsample ×2 → three blocks (scale-pyramid
    conv, ReLU, max pool, batch norm) → head. Input [B, 1, 28, 28] → logits [B, 10]."""

    def __init__(self, *, scales: Sequence[float] = SCALES, channels: tuple[int, int, int] = CHANNELS):
        super().__init__(lambda c_in, c_out: ScalePyramidConv(c_in, c_out, scales), channels)
