"""Batched bicubic rescaling of images about the centre of a square canvas.

Each image of a batch gets its own magnification factor s (s = 2 draws a 28 px
digit 56 px wide). The resampling is separable, so it is two batched matrix
products per image, out = R_rows · image · R_colsᵀ, with R built from the Keys
cubic kernel (a = -0.5, as in PIL and torch's antialiased bicubic). When
shrinking (s < 1) the kernel is widened by 1/s so the result is antialiased.
Pixels outside the source image count as background (0). Everything runs on
the device and in the dtype of the batch.
"""

from __future__ import annotations

import math

import torch

from scaletol.checks import InputError, check_int, fail

CUBIC_A = -0.5  # Keys cubic convolution parameter


def rescale(images: torch.Tensor, scales: torch.Tensor, canvas: int) -> torch.Tensor:
    """Magnify image b by scales[b] about its centre onto a canvas × canvas grid.

    images: float [B, H, W]; scales: [B], magnification factors > 0.
    Returns float [B, canvas, canvas] (same device and dtype as `images`);
    image centre and canvas centre coincide.
    """
    if images.ndim != 3 or not images.is_floating_point():
        raise fail("images", f"{images.dtype} {list(images.shape)}", "a float tensor [B, H, W]")
    check_int("canvas", canvas, low=1)
    scales = torch.as_tensor(scales, dtype=images.dtype, device=images.device)
    if scales.shape != images.shape[:1]:
        raise InputError(f"need one scale per image ({len(images)}), got shape {list(scales.shape)}")
    bad = ~(torch.isfinite(scales) & (scales > 0))
    if bad.any():
        raise fail("scales", scales[bad][0].item(), "finite and > 0")
    rows = resampling_matrices(scales, canvas, images.shape[1])
    cols = rows if images.shape[1] == images.shape[2] else resampling_matrices(scales, canvas, images.shape[2])
    return rows @ images @ cols.transpose(1, 2)


def resampling_matrices(scales: torch.Tensor, canvas: int, size: int) -> torch.Tensor:
    """1-D resampling weights [B, canvas, size]: row j holds the weights of the
    `size` source pixels that make canvas pixel j at magnification scales[b].

    Pixel centres sit at index + 0.5; canvas pixel j maps to the source position
    (j + 0.5 - canvas/2) / s + size/2. Each row is normalised by the kernel's
    total weight over the full (unbounded) source grid, so a constant image
    stays constant and missing pixels act as zeros.
    """
    dtype, device = scales.dtype, scales.device
    target = torch.arange(canvas, dtype=dtype, device=device) + 0.5 - canvas / 2
    source = target / scales[:, None] + size / 2 - 0.5  # [B, canvas], in source pixel indices
    width = scales.reciprocal().clamp(min=1.0)[:, None, None]  # kernel stretch (antialiasing)
    reach = math.ceil(2 * width.max().item())  # the kernel is zero beyond 2 * width
    offsets = torch.arange(-reach, reach + 2, dtype=dtype, device=device)
    phase = (source - source.floor())[:, :, None]
    total = keys_kernel((phase - offsets) / width).sum(-1, keepdim=True)
    pixels = torch.arange(size, dtype=dtype, device=device)
    return keys_kernel((source[:, :, None] - pixels) / width) / total


def keys_kernel(t: torch.Tensor, a: float = CUBIC_A) -> torch.Tensor:
    """Keys' cubic convolution kernel at offsets t (pixels): 1 at 0, 0 at other
    integers and for |t| ≥ 2."""
    t = t.abs()
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return torch.where(t <= 1, near, torch.where(t < 2, far, 0.0))
