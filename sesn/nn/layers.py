"""Scale convolutions (thesis §3.1.3, SESN) and their companion layers.

Tensors on the scale group are laid out [B, C, S, H, W]: batch, channels,
internal scale (index i ↔ scale S_i of the shared ``InternalScales``), rows,
columns. A kernel at scale S_i is Σ_f w_f ψ_f(·; S_i) over the Hermite basis
functions ψ_f, so one weight tensor serves every scale.

The two convolutions run on one of two paths (``path``): "direct" builds the
kernels and calls one ``F.conv2d`` with the scales folded into the channels;
"separable" (``sesn.nn.separable``) works on the 1-D atoms in the Fourier domain.
"auto" lets ``sesn.nn.path_choice.choose_path`` pick per call. Both give the same result.
"""

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from scaletol.checks import InputError, check_int
from sesn.nn.basis import BasisSpec, SeparableBasis, build_basis
from sesn.nn.path_choice import PATHS, choose_path
from sesn.nn.scales import InternalScales
from sesn.nn.separable import separable_scale_conv
from sesn.nn.state import CarriesSettings

PROJECTION_MODES = ("max", "mean")


def _channels(name: str, value) -> int:
    return check_int(name, value, low=1)


def _pad_scales(x: Tensor, scale_size: int) -> Tensor:
    """Zero-pad the scale axis (dim 2) of [B, C, S, H, W] by scale_size−1 at the end."""
    return F.pad(x, (0, 0, 0, 0, 0, scale_size - 1))


class KernelSizeWarning(UserWarning):
    """A layer's kernel is larger than its input."""


class _BasisConv(CarriesSettings, nn.Module):
    """Shared part of the scale convolutions: basis, scales, weights, bias.

    The state dict carries the basis settings (``BasisSpec.settings``)."""

    def __init__(
        self, in_channels, out_channels, scales, weight_shape, *, basis, eff, k, max_kernel, mult, stride, bias, path
    ):
        super().__init__()
        if not isinstance(scales, InternalScales):
            raise ValueError(f"scales={scales!r} must be an InternalScales")
        if path not in PATHS:
            raise ValueError(f"path={path!r} must be one of {PATHS}")
        self.path = path
        self.in_channels = _channels("in_channels", in_channels)
        self.out_channels = _channels("out_channels", out_channels)
        self.stride = _channels("stride", stride)
        self.spec = BasisSpec(basis, eff, k, max_kernel, mult)
        self.spec.warn_if_truncated(max(scales.values))  # InputError for kernels past KERNEL_SIZE_LIMIT
        self.scales = scales
        shape = (self.out_channels, *map(int, weight_shape), self.spec.num_functions)
        self.weight = nn.Parameter(torch.empty(shape))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_channels))  # starts at zero, as in SESN
        else:
            self.register_parameter("bias", None)
        self._warned_kernel_size = False

    def settings(self) -> dict:
        return self.spec.settings()

    @property
    def kernel_size(self) -> int:
        """Current kernel size l (px), following the largest internal scale."""
        return self.spec.kernel_size(max(self.scales.values))

    def kernels(self) -> Tensor:
        """Current dense kernels [C_out, C_in, (scale_size,) S, l, l]: the
        kernel at every internal scale, Σ_f weight_f · basis_f."""
        return torch.einsum("o...f,fsyx->o...syx", self.weight, self.dense_basis())

    def _check_fits(self, size: int, x: Tensor) -> None:
        """Warn once per layer when the kernel is larger than the input."""
        if not self._warned_kernel_size and size > min(x.shape[-2:]):
            self._warned_kernel_size = True
            warnings.warn(
                f"{type(self).__name__}: its {size}-px kernel (σ_max {max(self.scales.values):.4g} px) exceeds "
                f"the {x.shape[-2]}×{x.shape[-1]} input",
                KernelSizeWarning,
                stacklevel=2,
            )

    def separable_basis(self) -> SeparableBasis:
        """The basis at the current scales (cached on the shared scales)."""
        return self.scales.derived(("atoms", self.spec), lambda s: build_basis(self.spec, s))

    def dense_basis(self) -> Tensor:
        """[F, S, l, l] basis at the current scales (cached on the shared scales)."""
        return self.scales.derived(("dense", self.spec), lambda s: build_basis(self.spec, s).dense())

    def _add_bias(self, y: Tensor) -> Tensor:
        return y if self.bias is None else y + self.bias[None, :, None, None, None]

    def _chosen_path(self, x: Tensor, in_scales: int, span: int, size: int) -> str:
        if self.path != "auto":
            return self.path
        batch, height, width = x.shape[0], x.shape[-2], x.shape[-1]
        return choose_path(
            batch,
            self.in_channels,
            in_scales,
            span,
            self.out_channels,
            self.scales.ns,
            height,
            width,
            size,
            self.stride,
        )

    def extra_repr(self) -> str:
        spec = self.spec
        text = (
            f"{self.in_channels}, {self.out_channels}, basis={spec.kind}, eff={spec.eff}, "
            f"ns={self.scales.ns}, kernel_size={self.kernel_size}, k={spec.k}"
        )
        if spec.max_kernel is not None:
            text += f", max_kernel={spec.max_kernel}"
        if spec.kind == "B":
            text += f", mult={spec.mult}"
        return text + f", stride={self.stride}, bias={self.bias is not None}, path={self.path}"


class ScaleConvZ2H(_BasisConv):
    """Lifting scale convolution: [B, C_in, H, W] → [B, C_out, S, H', W'].

    Output scale i is the input convolved with the kernel at scale S_i ("same"
    padding of l//2, H' = ceil(H / stride)). Weights [C_out, C_in, eff²].
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        scales,
        *,
        basis="A",
        eff=5,
        k=4.0,
        max_kernel=None,
        mult=1.5,
        stride=1,
        bias=False,
        path="auto",
    ):
        super().__init__(
            in_channels,
            out_channels,
            scales,
            (in_channels,),
            basis=basis,
            eff=eff,
            k=k,
            max_kernel=max_kernel,
            mult=mult,
            stride=stride,
            bias=bias,
            path=path,
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"input shape {tuple(x.shape)} must be [B, {self.in_channels}, H, W]")
        atoms = self.separable_basis()
        self._check_fits(atoms.kernel_size, x)
        if self._chosen_path(x, 1, 1, atoms.kernel_size) == "separable":
            y = separable_scale_conv(x[:, :, None], self.weight[:, :, None], atoms, self.stride)
            return self._add_bias(y)
        basis = self.dense_basis()  # [F, S, l, l]
        n_scales, size = basis.shape[1], basis.shape[-1]
        kernel = torch.einsum("oif,fsyx->osiyx", self.weight, basis)
        kernel = kernel.reshape(self.out_channels * n_scales, self.in_channels, size, size)
        y = F.conv2d(x, kernel, stride=self.stride, padding=size // 2)
        return self._add_bias(y.unflatten(1, (self.out_channels, n_scales)))


class ScaleConvHH(_BasisConv):
    """Scale convolution on the group: [B, C_in, S, H, W] → [B, C_out, S, H', W'].

    Output scale i convolves input scales i … i+scale_size−1 (zero beyond the
    largest scale) with kernels at scale S_i. Weights [C_out, C_in, scale_size, eff²].
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        scales,
        *,
        scale_size=1,
        basis="A",
        eff=5,
        k=4.0,
        max_kernel=None,
        mult=1.5,
        stride=1,
        bias=False,
        path="auto",
    ):
        scale_size = _channels("scale_size", scale_size)
        super().__init__(
            in_channels,
            out_channels,
            scales,
            (in_channels, scale_size),
            basis=basis,
            eff=eff,
            k=k,
            max_kernel=max_kernel,
            mult=mult,
            stride=stride,
            bias=bias,
            path=path,
        )
        if scale_size > scales.ns:
            raise InputError(f"scale_size={scale_size} must be ≤ ns={scales.ns}, the number of scales it mixes")
        self.scale_size = scale_size

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 5 or x.shape[1] != self.in_channels or x.shape[2] != self.scales.ns:
            raise ValueError(f"input shape {tuple(x.shape)} must be [B, {self.in_channels}, {self.scales.ns}, H, W]")
        atoms = self.separable_basis()
        self._check_fits(atoms.kernel_size, x)
        n_scales = self.scales.ns
        if self._chosen_path(x, n_scales, self.scale_size, atoms.kernel_size) == "separable":
            return self._add_bias(separable_scale_conv(x, self.weight, atoms, self.stride))
        basis = self.dense_basis()
        size = basis.shape[-1]
        # [B, C, S, H, W, j] → [B, S·C·j, H, W]: each scale with its neighbours, as groups
        windows = _pad_scales(x, self.scale_size).unfold(2, self.scale_size, 1)
        grouped = windows.permute(0, 2, 1, 5, 3, 4).flatten(1, 3)
        kernel = torch.einsum("oijf,fsyx->soijyx", self.weight, basis)
        kernel = kernel.reshape(n_scales * self.out_channels, -1, size, size)
        y = F.conv2d(grouped, kernel, stride=self.stride, padding=size // 2, groups=n_scales)
        return self._add_bias(y.unflatten(1, (n_scales, self.out_channels)).transpose(1, 2))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", scale_size={self.scale_size}"


class ScaleConv1x1(nn.Module):
    """1×1 convolution on the group, mixing scale_size neighbouring scales:
    [B, C_in, S, H, W] → [B, C_out, S, H, W]; weights [C_out, C_in, scale_size]."""

    def __init__(self, in_channels, out_channels, *, scale_size=1, bias=False):
        super().__init__()
        self.in_channels = _channels("in_channels", in_channels)
        self.out_channels = _channels("out_channels", out_channels)
        self.scale_size = _channels("scale_size", scale_size)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, scale_size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            fan_in = in_channels * scale_size
            self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-(fan_in**-0.5), fan_in**-0.5))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(f"input shape {tuple(x.shape)} must be [B, {self.in_channels}, S, H, W]")
        kernel = self.weight[:, :, :, None, None]
        return F.conv3d(_pad_scales(x, self.scale_size), kernel, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, scale_size={self.scale_size}, bias={self.bias is not None}"


class _MaxOverScales(torch.autograd.Function):
    """Max over dim 2 whose backward routes each gradient to the first maximal
    scale, built per scale slice: ``amax``'s backward (which splits ties)
    costs about 10× its forward on the toy network's [32, 16, 3, 168, 168]."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        best = x.amax(dim=2)
        ctx.save_for_backward(x, best)
        return best

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor) -> Tensor:
        x, best = ctx.saved_tensors
        grad_x = torch.empty_like(x)
        taken = torch.zeros_like(best, dtype=torch.bool)
        for i in range(x.shape[2]):
            hit = (x[:, :, i] == best) & ~taken
            taken |= hit
            torch.mul(grad, hit, out=grad_x[:, :, i])
        return grad_x


class ScaleProjection(nn.Module):
    """Pools the scale axis: [B, C, S, H, W] → [B, C, H, W] by max (the
    gradient goes to the first maximal scale) or mean."""

    def __init__(self, mode="max"):
        super().__init__()
        if mode not in PROJECTION_MODES:
            raise ValueError(f"mode={mode!r} must be one of {PROJECTION_MODES}")
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 5:
            raise ValueError(f"input shape {tuple(x.shape)} must be [B, C, S, H, W]")
        return _MaxOverScales.apply(x) if self.mode == "max" else x.mean(dim=2)

    def extra_repr(self) -> str:
        return f"mode={self.mode}"


class ScaleBatchNorm(nn.BatchNorm3d):
    """Batch norm of [B, C, S, H, W] with statistics per channel over (B, S, H, W):
    scale is treated like space. Keyword arguments as ``nn.BatchNorm3d``."""

    def __init__(self, num_channels, **kwargs):
        super().__init__(_channels("num_channels", num_channels), **kwargs)
