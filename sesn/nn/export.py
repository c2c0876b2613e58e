"""Trained scale layers as plain convolutions, for TorchScript, ONNX and deployment.

``export(module)`` returns a copy of a scale layer or of a whole model in
which every scale convolution is an ``nn.Conv2d`` holding its kernels at the
current internal scales, every max/mean projection a plain reduction, and
every ``InternalScales`` a ``FrozenScales`` that records the values (px) the
kernels were built at. The copy computes the same function (up to float
rounding) with standard operators only: no basis, no cache, no autograd
Function, no Python-side decisions, so ``torch.jit.script``,
``torch.jit.trace`` and ``torch.onnx.export`` take it. Its parameters are the
baked kernels; training it further trains them as ordinary convolutions.
"""

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sesn.nn.layers import ScaleConvHH, ScaleConvZ2H, ScaleProjection
from sesn.nn.scales import InternalScales


class FrozenScales(nn.Module):
    """The internal scales (px) an exported model's kernels were built at, as a buffer."""

    values: Tensor

    def __init__(self, values: Tensor):
        super().__init__()
        self.register_buffer("values", values.detach().clone())

    def extra_repr(self) -> str:
        return "scales=[" + ", ".join(f"{v:.3f}" for v in self.values.tolist()) + "] px"


def _baked_conv(layer, groups: int) -> nn.Conv2d:
    """An nn.Conv2d with the direct path's kernel of ``layer`` and its bias per scale."""
    with torch.no_grad():
        basis = layer.dense_basis()
        kernel = layer._direct_kernel(layer.weight, basis)
        n_scales = basis.shape[1]
        out_channels, in_channels, size, _ = kernel.shape
        conv = nn.Conv2d(
            in_channels * groups,
            out_channels,
            size,
            stride=layer.stride,
            padding=size // 2,
            groups=groups,
            bias=layer.bias is not None,
            dtype=kernel.dtype,
            device=kernel.device,
        )
        conv.weight.copy_(kernel)
        if layer.bias is not None and conv.bias is not None:
            # Z2H channels are o·S + s, H→H ones s·O + o
            per_scale = layer.bias.repeat_interleave(n_scales) if groups == 1 else layer.bias.repeat(n_scales)
            conv.bias.copy_(per_scale)
    return conv


class ExportedScaleConvZ2H(nn.Module):
    """A ScaleConvZ2H with baked kernels: [B, C_in, H, W] → [B, C_out, S, H', W']."""

    def __init__(self, layer: ScaleConvZ2H):
        super().__init__()
        self.out_channels = layer.out_channels
        self.n_scales = layer.scales.ns
        self.conv = _baked_conv(layer, groups=1)

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv(x)
        return y.reshape(y.shape[0], self.out_channels, self.n_scales, y.shape[-2], y.shape[-1])


class ExportedScaleConvHH(nn.Module):
    """A ScaleConvHH with baked kernels: [B, C_in, S, H, W] → [B, C_out, S, H', W'];
    one group per output scale reads its ``scale_size`` input scales."""

    def __init__(self, layer: ScaleConvHH):
        super().__init__()
        self.out_channels = layer.out_channels
        self.n_scales = layer.scales.ns
        self.scale_size = layer.scale_size
        self.conv = _baked_conv(layer, groups=self.n_scales)

    def forward(self, x: Tensor) -> Tensor:
        padded = F.pad(x, [0, 0, 0, 0, 0, self.scale_size - 1])
        windows = [padded[:, :, j : j + self.n_scales] for j in range(self.scale_size)]
        grouped = torch.stack(windows, dim=3).transpose(1, 2)  # [B, S, C, J, H, W]
        y = self.conv(grouped.reshape(x.shape[0], -1, x.shape[-2], x.shape[-1]))
        y = y.reshape(y.shape[0], self.n_scales, self.out_channels, y.shape[-2], y.shape[-1])
        return y.transpose(1, 2)


class ExportedProjection(nn.Module):
    """Max or mean over the scale axis: [B, C, S, H, W] → [B, C, H, W]."""

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode
        self.take_max = mode == "max"

    def forward(self, x: Tensor) -> Tensor:
        return x.amax(dim=2) if self.take_max else x.mean(dim=2)

    def extra_repr(self) -> str:
        return f"mode={self.mode}"


def _exported(module: nn.Module) -> nn.Module | None:
    """The plain replacement of one scale module, or None if it needs none."""
    if isinstance(module, ScaleConvZ2H):
        return ExportedScaleConvZ2H(module)
    if isinstance(module, ScaleConvHH):
        return ExportedScaleConvHH(module)
    if isinstance(module, ScaleProjection):
        return ExportedProjection(module.mode)
    if isinstance(module, InternalScales):
        with torch.no_grad():
            return FrozenScales(module())
    return None


def _replace_children(module: nn.Module) -> None:
    for name, child in module.named_children():
        replacement = _exported(child)
        if replacement is None:
            _replace_children(child)
        else:
            setattr(module, name, replacement)


def export(module: nn.Module) -> nn.Module:
    """A copy of ``module`` (a scale layer or a model holding them) built from
    standard operators, with the kernels at the current scales baked in.

    The copy keeps ``module``'s training/eval mode, device and dtype; the
    original is left untouched.
    """
    replacement = _exported(module)
    if replacement is not None:
        return replacement.train(module.training)
    exported = copy.deepcopy(module)
    _replace_children(exported)
    return exported
