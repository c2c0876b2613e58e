"""Scale convolutions (thesis §3.1.3, SESN) and their companion layers.

Tensors on the scale group are laid out [B, C, S, H, W]: batch, channels,
internal scale (index i ↔ scale S_i of the shared ``InternalScales``), rows,
columns. A kernel at scale S_i is Σ_f w_f ψ_f(·; S_i) over the Hermite basis
functions ψ_f, so one weight tensor serves every scale.

The two convolutions run on one of two paths (``path``): "direct" builds the
kernels and calls one ``F.conv2d`` with the scales folded into the channels;
"separable" (``sesn.nn.separable``) works on the 1-D atoms in the Fourier domain.
"auto" lets ``sesn.nn.path_choice.pick_path`` pick per shape. Both give the
same result, in the same dtype (under ``torch.autocast`` too).

PyTorch tools: under ``torch.compile`` the basis is built outside the graph
(one graph break per scale convolution; the graph does not depend on the
scale values, so optimiser steps cause no recompilation); under
``torch.jit.trace`` "auto" runs the direct path and "separable" raises;
``sesn.nn.export.export`` turns layers into plain convolutions for
TorchScript, ONNX and deployment.
"""

import math
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from scaletol.checks import InputError, check_int
from sesn.nn.basis import BasisSpec, SeparableBasis, build_basis
from sesn.nn.path_choice import PATHS, pick_path, weighted_costs
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


def _check_dtype(layer: nn.Module, x: Tensor, dtype: torch.dtype) -> None:
    """InputError unless x has the layer's dtype (autocast decides dtypes itself)."""
    if x.dtype != dtype and not torch.is_autocast_enabled(x.device.type):
        raise InputError(
            f"{type(layer).__name__}: input dtype {x.dtype} must be the layer's dtype {dtype} "
            f"(convert the input or the model with .to({dtype}))"
        )


def _autocast_dtype(x: Tensor) -> torch.dtype:
    """The dtype F.conv2d returns for x: autocast's lower precision, or x's own."""
    device = x.device.type
    return torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype


class _BasisConv(CarriesSettings, nn.Module):
    """Shared part of the scale convolutions: basis, scales, weights, bias, path.

    Subclasses give the input layout for the separable path (``_separable``)
    and the direct convolution (``_direct_kernel``, ``_direct``). The state
    dict carries the basis settings (``BasisSpec.settings``).
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        scales,
        weight_shape,
        *,
        basis,
        eff,
        k,
        max_kernel,
        mult,
        noise_blur,
        stride,
        bias,
        path,
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
        self.spec = BasisSpec(basis, eff, k, max_kernel, mult, dilate=scales.mode == "fixed", noise_blur=noise_blur)
        self.spec.warn_if_truncated(max(scales.values), min(scales.values))  # InputError past KERNEL_SIZE_LIMIT
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
        values = self.scales.values
        return self.spec.kernel_size(max(values), min(values))

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

    # Given by each subclass for its input layout: the separable path, the
    # direct path's kernel and the direct convolution.
    _separable: Callable[..., Tensor]
    _direct_kernel: Callable[..., Tensor]
    _direct: Callable[..., Tensor]

    @property
    def in_scales(self) -> int:
        """Input scales per sample: 1 for the lifting layer, N_S on the group."""
        return 1

    @property
    def span(self) -> int:
        """Input scales read per output scale."""
        return 1

    def separable_basis(self) -> SeparableBasis:
        """The basis at the current scales (cached on the shared scales)."""
        return self.scales.derived(("atoms", self.spec), lambda s: build_basis(self.spec, s))

    def dense_basis(self) -> Tensor:
        """[F, S, l, l] basis at the current scales (cached on the shared scales)."""
        return self.scales.derived(("dense", self.spec), lambda s: build_basis(self.spec, s).dense())

    def forward(self, x: Tensor, *, max_over_scales: bool = False) -> Tensor:
        """[B, C_out, S, H', W'], or with ``max_over_scales`` its max over the
        scales [B, C_out, H', W'] (as ``ScaleProjection("max")``; on the
        separable path taken chunk by chunk inside the convolution)."""
        self._check_input(x)
        path, basis = self._prepare(x, measure=not torch.compiler.is_compiling())
        if path == "separable":
            with torch.autocast(x.device.type, enabled=False):
                y = self._separable(x, self.weight, basis, max_over_scales)
            y = y.to(_autocast_dtype(x))
        else:
            y = self._direct(x, self.weight, basis)
            y = _MaxOverScales.apply(y) if max_over_scales else y
        if self.bias is None:
            return y
        return y + self.bias.to(y.dtype).reshape(-1, *[1] * (y.dim() - 2))  # a bias per channel keeps the max's scale

    @torch.compiler.disable
    def _prepare(self, x: Tensor, measure: bool) -> tuple[str, Tensor | SeparableBasis]:
        """(path, basis): the atoms for "separable", the dense basis for "direct".

        Runs outside any torch.compile graph: the kernel size and the scale
        checks read the scale values, and the cache compares tensors. Under
        torch.jit.trace the basis is built from the scales without the cache,
        so that the trace records it.
        """
        if torch.jit.is_tracing():
            atoms = build_basis(self.spec, self.scales())
            path = "direct" if self.path == "auto" else self.path
            return path, (atoms if path == "separable" else atoms.dense())
        atoms = self.separable_basis()
        self._check_fits(atoms.kernel_size, x)
        path = self.path if self.path != "auto" else self._auto_path(x, atoms, measure)
        return path, (atoms if path == "separable" else self.dense_basis())

    def _auto_path(self, x: Tensor, atoms: SeparableBasis, measure: bool) -> str:
        n_scales, n_atoms, size = atoms.atoms.shape
        shape: tuple[int, ...] = (x.shape[0], self.in_channels, self.in_scales, self.span, self.out_channels, n_scales)
        shape += (x.shape[-2], x.shape[-1], size, self.stride, n_atoms, self.spec.num_functions)
        training = torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)
        key = (type(self).__name__, x.device, x.dtype, _autocast_dtype(x), training, shape)
        costs = weighted_costs(*shape)
        run_path = (lambda path: self._run_path(path, x, atoms, training)) if measure else None
        return pick_path(key, costs, run_path)

    def _run_path(self, path: str, x: Tensor, atoms: SeparableBasis, training: bool) -> None:
        """One call of ``path`` (forward, and backward when training) on detached
        copies, so no gradient reaches the layer's parameters; waits for the device."""
        weight = self.weight.detach().requires_grad_(training)
        probe = x.detach().requires_grad_(training and x.requires_grad)
        atoms = atoms._replace(atoms=atoms.atoms.detach())
        with torch.set_grad_enabled(training):
            if path == "separable":
                y = self._separable(probe, weight, atoms)
            else:
                y = self._direct(probe, weight, atoms.dense())
            if training:
                inputs = [weight, probe] if probe.requires_grad else [weight]
                torch.autograd.grad(y, inputs, torch.ones_like(y))
        if x.device.type == "cuda":
            torch.cuda.synchronize(x.device)

    def _check_input(self, x: Tensor) -> None:
        _check_dtype(self, x, self.weight.dtype)

    def extra_repr(self) -> str:
        spec = self.spec
        text = (
            f"{self.in_channels}, {self.out_channels}, basis={spec.kind}, eff={spec.eff}, "
            f"ns={self.scales.ns}, kernel_size={self.kernel_size}, k={spec.k}"
        )
        if spec.max_kernel is not None:
            text += f", max_kernel={spec.max_kernel}"
        if spec.kind != "A":
            text += f", mult={spec.mult}"
        if spec.noise_blur:
            text += f", noise_blur={spec.noise_blur}"
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
        noise_blur=0.0,
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
            noise_blur=noise_blur,
            stride=stride,
            bias=bias,
            path=path,
        )

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"input shape {tuple(x.shape)} must be [B, {self.in_channels}, H, W]")
        super()._check_input(x)

    def _separable(self, x: Tensor, weight: Tensor, atoms: SeparableBasis, max_over_scales: bool = False) -> Tensor:
        return separable_scale_conv(x[:, :, None], weight[:, :, None], atoms, self.stride, max_over_scales)

    def _direct_kernel(self, weight: Tensor, basis: Tensor) -> Tensor:
        """[O·S, C, l, l], output channel o·S + s for filter o at scale s."""
        size = basis.shape[-1]
        kernel = torch.einsum("oif,fsyx->osiyx", weight, basis)
        return kernel.reshape(-1, self.in_channels, size, size)

    def _direct(self, x: Tensor, weight: Tensor, basis: Tensor) -> Tensor:
        n_scales, size = basis.shape[1], basis.shape[-1]
        y = F.conv2d(x, self._direct_kernel(weight, basis), stride=self.stride, padding=size // 2)
        return y.unflatten(1, (self.out_channels, n_scales))


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
        noise_blur=0.0,
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
            noise_blur=noise_blur,
            stride=stride,
            bias=bias,
            path=path,
        )
        if scale_size > scales.ns:
            raise InputError(f"scale_size={scale_size} must be ≤ ns={scales.ns}, the number of scales it mixes")
        self.scale_size = scale_size

    @property
    def in_scales(self) -> int:
        return self.scales.ns

    @property
    def span(self) -> int:
        return self.scale_size

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 5 or x.shape[1] != self.in_channels or x.shape[2] != self.scales.ns:
            raise ValueError(f"input shape {tuple(x.shape)} must be [B, {self.in_channels}, {self.scales.ns}, H, W]")
        super()._check_input(x)

    def _separable(self, x: Tensor, weight: Tensor, atoms: SeparableBasis, max_over_scales: bool = False) -> Tensor:
        return separable_scale_conv(x, weight, atoms, self.stride, max_over_scales)

    def _direct_kernel(self, weight: Tensor, basis: Tensor) -> Tensor:
        """[S·O, C·J, l, l] for groups=S: output channel s·O + o, input channel c·J + j."""
        size = basis.shape[-1]
        kernel = torch.einsum("oijf,fsyx->soijyx", weight, basis)
        return kernel.reshape(-1, self.in_channels * self.scale_size, size, size)

    def _direct(self, x: Tensor, weight: Tensor, basis: Tensor) -> Tensor:
        n_scales, size = basis.shape[1], basis.shape[-1]
        # [B, C, S, H, W, j] → [B, S·C·j, H, W]: each scale with its neighbours, as groups
        windows = _pad_scales(x, self.scale_size).unfold(2, self.scale_size, 1)
        grouped = windows.permute(0, 2, 1, 5, 3, 4).flatten(1, 3)
        kernel = self._direct_kernel(weight, basis)
        y = F.conv2d(grouped, kernel, stride=self.stride, padding=size // 2, groups=n_scales)
        return y.unflatten(1, (n_scales, self.out_channels)).transpose(1, 2)

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
        _check_dtype(self, x, self.weight.dtype)
        kernel = self.weight[:, :, :, None, None]
        return F.conv3d(_pad_scales(x, self.scale_size), kernel, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, scale_size={self.scale_size}, bias={self.bias is not None}"


class _MaxOverScales(torch.autograd.Function):
    """Max over dim 2 whose backward routes each gradient to the first maximal
    scale, built per scale slice: ``amax``'s backward (which splits ties)
    costs about 10× its forward on the toy network's [32, 16, 3, 168, 168].
    The backward is made of differentiable operations (linear in the incoming
    gradient), so double backward works; the max is piecewise linear, so its
    second derivative in x is zero."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        best = x.amax(dim=2)
        ctx.save_for_backward(x, best)
        return best

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        x, best = ctx.saved_tensors
        taken = torch.zeros_like(best, dtype=torch.bool)
        slices = []
        for i in range(x.shape[2]):
            hit = (x[:, :, i] == best) & ~taken
            taken = taken | hit
            slices.append(grad * hit)
        return torch.stack(slices, dim=2)


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


def projected(projection: nn.Module, conv: nn.Module, x: Tensor) -> Tensor:
    """``projection(conv(x))``; a max projection of a scale convolution is
    taken inside the convolution (``max_over_scales``), so that the separable
    path never stores the [B, C, S, H, W] output. Hooks of ``projection`` do
    not run then."""
    if isinstance(projection, ScaleProjection) and projection.mode == "max" and isinstance(conv, _BasisConv):
        return conv(x, max_over_scales=True)
    return projection(conv(x))


class ScaleBatchNorm(nn.BatchNorm3d):
    """Batch norm of [B, C, S, H, W] with statistics per channel over (B, S, H, W):
    scale is treated like space. Keyword arguments as ``nn.BatchNorm3d``."""

    def __init__(self, num_channels, **kwargs):
        super().__init__(_channels("num_channels", num_channels), **kwargs)
