"""1-D Hermite atoms: Gaussian-enveloped probabilists' Hermite polynomials.

The polynomials come from the three-term recurrence He_{n+1}(t) = t·He_n(t) −
n·He_{n−1}(t), written with ordinary tensor arithmetic so that gradients reach
the scale σ (``torch.special``'s Hermite functions give no gradient in t).
"""

import torch
from torch import Tensor

from scaletol.checks import InputError, check_int


def hermite_polynomials(t: Tensor, n_orders: int) -> Tensor:
    """He_0 … He_{n_orders−1} evaluated at ``t``; shape [n_orders, *t.shape]."""
    n_orders = check_int("n_orders", n_orders, low=1)
    values = [torch.ones_like(t), t]
    for n in range(1, n_orders - 1):
        values.append(t * values[n] - n * values[n - 1])
    return torch.stack(values[:n_orders])


def hermite_atoms(sigma: Tensor, n_orders: int, size: int) -> Tensor:
    """Atoms ψ_n(x) = exp(−x²/(2σ²))/σ · He_n(x/σ) on the integer offsets
    x = −(size//2) … size//2 (pixels).

    sigma: any shape [...], in pixels. Returns [..., n_orders, size] in
    ``sigma``'s dtype and device; differentiable with respect to ``sigma``.
    """
    size = check_int("size", size, low=1)
    if size % 2 == 0:
        raise InputError(f"size={size} must be a positive odd number of pixels")
    offsets = torch.arange(size, dtype=sigma.dtype, device=sigma.device) - size // 2
    t = offsets / sigma.unsqueeze(-1)
    envelope = torch.exp(-0.5 * t * t) / sigma.unsqueeze(-1)
    polynomials = hermite_polynomials(t, n_orders)
    return (polynomials * envelope).movedim(0, -2)
