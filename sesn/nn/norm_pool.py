"""ReLU, batch norm and max pool over one activation in few passes.

``relu_norm_pool(x, norm, pool)`` is ``pool(norm(relu(x)))`` for an affine
``nn.BatchNorm2d`` and an ``nn.MaxPool2d`` whose windows tile the input
(stride = kernel size, no padding, dilation or ceil mode), as in the toy
network's head over its [B, 16, 168, 168] activation. Batch norm maps each
channel by an affine function, increasing where its scale γ/√(σ² + ε) is
positive, so the pool can be taken first: each window's max, or its min for
a channel of negative scale (with fixed statistics, before the ReLU too).
The batch statistics are a sum and a sum of squares per channel; the
backward, whose incoming gradient reaches only the pooled pixels, is one
dense pass (the statistics' share, masked by the ReLU) and a scatter onto
those pixels. The three modules in sequence make about eight passes over the
activation. The norm's running statistics are updated as the norm itself
would update them. Other norms, pools or dtypes, and torch.compile (which
fuses the modules its own way), take the three modules; the fused gradient
has no second derivative.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable


def relu_norm_pool(x: Tensor, norm: nn.Module, pool: nn.Module) -> Tensor:
    """``pool(norm(relu(x)))``: x [B, C, H, W] → [B, C, H // k, W // k] for a
    k × k pool (see the module docstring for when it is fused)."""
    if not _fusable(x, norm, pool):
        return pool(norm(torch.relu(x)))
    assert isinstance(norm, nn.BatchNorm2d) and isinstance(pool, nn.MaxPool2d)
    running_mean, running_var = norm.running_mean, norm.running_var
    if not norm.training and running_mean is not None and running_var is not None:
        # a fixed affine map: pool, ReLU (monotone, so it commutes with the pool), normalise
        scale = norm.weight * torch.rsqrt(running_var + norm.eps)
        pooled = torch.relu(_tile_extreme(x, scale.detach(), _window(pool)))
        return (pooled - running_mean[:, None, None]) * scale[:, None, None] + norm.bias[:, None, None]
    return _ReluNormPool.apply(x, norm.weight, norm.bias, norm, _window(pool))


def _pair(value) -> tuple:
    """A pool setting (an int or a pair) as a pair."""
    return (value, value) if isinstance(value, int) else tuple(value)


def _window(pool: nn.MaxPool2d) -> int:
    return _pair(pool.kernel_size)[0]


def _fusable(x: Tensor, norm: nn.Module, pool: nn.Module) -> bool:
    if not (isinstance(norm, nn.BatchNorm2d) and isinstance(pool, nn.MaxPool2d)):
        return False
    size = _pair(pool.kernel_size)
    tiles = size[0] == size[1] and _pair(pool.stride) == size and _pair(pool.padding) == (0, 0)
    tiles = tiles and _pair(pool.dilation) == (1, 1) and not pool.ceil_mode and not pool.return_indices
    return (
        tiles
        and norm.affine
        and (norm.momentum is not None or not norm.track_running_stats)
        and x.dim() == 4
        and x.dtype in (torch.float32, torch.float64)
        and not torch.jit.is_scripting()
        and not torch.compiler.is_compiling()
    )


def _tile_extreme(x: Tensor, scale: Tensor, k: int) -> Tensor:
    """Per k × k tile of x [B, C, H, W]: the max where ``scale`` [C] ≥ 0, else
    the min; [B, C, H // k, W // k]. ``_signed_pool`` without the indices
    (one reduction over a view of the tiles)."""
    rows, cols = x.shape[-2] // k, x.shape[-1] // k
    tiles = x[..., : rows * k, : cols * k].unflatten(-1, (cols, k)).unflatten(-3, (rows, k))
    peak = tiles.amax(dim=(-3, -1))
    negative = scale < 0
    if not bool(negative.any()):
        return peak
    return torch.where(negative[:, None, None], tiles.amin(dim=(-3, -1)), peak)


def _signed_pool(r: Tensor, scale: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Per window of r [B, C, H, W]: the max where ``scale`` [C] ≥ 0, else the
    min, with its flat index in the window's map (as ``F.max_pool2d``)."""
    negative = scale < 0
    if not bool(negative.any()):
        return F.max_pool2d(r, k, return_indices=True)
    sign = torch.where(negative, -1.0, 1.0).to(r.dtype)[:, None, None]
    pooled, index = F.max_pool2d(r * sign, k, return_indices=True)
    return pooled * sign, index


class _ReluNormPool(torch.autograd.Function):
    """Training-mode ``relu_norm_pool``: x, γ, β → pooled and normalised
    [B, C, h, w]; updates the norm's running statistics."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, norm: nn.BatchNorm2d, k: int) -> Tensor:
        r = torch.relu(x).contiguous()
        flat = r.view(r.shape[0], r.shape[1], -1)
        count = flat.shape[0] * flat.shape[2]
        mean = flat.sum(dim=(0, 2)) / count
        squares = torch.bmm(flat.reshape(-1, 1, flat.shape[2]), flat.reshape(-1, flat.shape[2], 1))
        variance = (squares.view(flat.shape[:2]).sum(dim=0) / count - mean.square()).clamp_min(0)
        _update_running_stats(norm, mean, variance, count)
        invstd = torch.rsqrt(variance + norm.eps)
        scale = weight * invstd
        pooled, index = _signed_pool(r, scale, k)
        normalised = (pooled - mean[:, None, None]) * invstd[:, None, None]
        ctx.save_for_backward(r, index, normalised, mean, invstd, weight)
        return normalised * weight[:, None, None] + bias[:, None, None]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        r, index, normalised, mean, invstd, weight = ctx.saved_tensors
        count = r.shape[0] * r.shape[2] * r.shape[3]
        grad_bias = grad.sum(dim=(0, 2, 3))
        grad_weight = (grad * normalised).sum(dim=(0, 2, 3))
        # d/dr of batch norm: γ·invstd·(g − Σg/N − r̂·Σ(g·r̂)/N), g nonzero at the pooled pixels only
        scale = weight * invstd
        slope = -scale * invstd * grad_weight / count  # the r̂·Σ(g·r̂)/N share, linear in r
        offset = -scale * grad_bias / count - slope * mean
        dense = torch.addcmul(offset[:, None, None], slope[:, None, None], r)
        dense = torch.ops.aten.threshold_backward(dense, r, 0)  # the ReLU: zero where r = 0
        pooled_r = r.view(*r.shape[:2], -1).gather(2, index.view(*index.shape[:2], -1))
        sparse = (grad * scale[:, None, None]).view_as(pooled_r) * (pooled_r > 0)
        dense.view(*r.shape[:2], -1).scatter_add_(2, index.view(*index.shape[:2], -1), sparse)
        return dense, grad_weight, grad_bias, None, None


def _update_running_stats(norm: nn.BatchNorm2d, mean: Tensor, variance: Tensor, count: int) -> None:
    """As ``nn.BatchNorm2d`` in training: the running mean and the unbiased
    running variance move by ``momentum`` towards the batch's."""
    running_mean, running_var, tracked = norm.running_mean, norm.running_var, norm.num_batches_tracked
    if not norm.track_running_stats or running_mean is None or running_var is None or tracked is None:
        return
    assert norm.momentum is not None  # see _fusable
    with torch.no_grad():
        tracked.add_(1)
        running_mean.lerp_(mean, norm.momentum)
        running_var.lerp_(variance * count / max(count - 1, 1), norm.momentum)
