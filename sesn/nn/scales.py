"""Internal scales of a scale-equivariant network, fixed or learnable.

One ``InternalScales`` instance is shared by every scale convolution of a
model. Parameterisations (σ_basis is the smallest scale, γ are free reals):

- ``fixed``:    the scales never change (the SESN baseline);
- ``isr``:      S_i = σ_basis · ISR^(i/(N_S−1)),  ISR = 1 + γ²  (thesis Eq. 3, 6);
- ``ratio``:    S_i = σ_basis · (1 + γ²)^i,       so ISR = (1 + γ²)^(N_S−1);
- ``spacings``: S_i = σ_basis · Π_{j<i} (1 + γ_j²), one γ_j per consecutive pair;
- ``direct``:   every scale is its own parameter.

Quantities derived from the scales (each layer's basis) are cached by
``sesn.nn.cache.DerivedCache``: one basis per training step for every layer
that shares the instance, one in all with fixed scales or under no_grad.
"""

import math
from collections.abc import Callable, Hashable
from typing import Any

import torch
from torch import Tensor, nn

from sesn.nn.cache import DerivedCache

MODES = ("fixed", "isr", "ratio", "spacings", "direct")


def _positive_finite(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}={value!r} must be a number")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} must be finite and > 0")
    return float(value)


def _initial_scales(ns, sigma_basis, isr, mode, scales) -> list[float]:
    if isinstance(ns, bool) or not isinstance(ns, int) or ns < 1:
        raise ValueError(f"ns={ns!r} must be an integer ≥ 1")
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} must be one of {MODES}")
    if scales is not None:
        if mode not in ("fixed", "spacings", "direct"):
            raise ValueError(f"scales={scales!r} are only accepted by modes fixed, spacings, direct, not mode={mode!r}")
        values = [_positive_finite("scale", s) for s in scales]
        if len(values) != ns:
            raise ValueError(f"scales={scales!r} must hold ns={ns} values")
        if mode == "spacings" and any(b <= a for a, b in zip(values, values[1:])):
            raise ValueError(f"scales={scales!r} must increase strictly in mode 'spacings'")
        return values
    sigma_basis = _positive_finite("sigma_basis", sigma_basis)
    isr = _positive_finite("isr", isr)
    if isr < 1:
        raise ValueError(f"isr={isr!r} must be ≥ 1")
    if ns == 1 and isr != 1:
        raise ValueError(f"isr={isr!r} with ns=1: a single scale has ISR 1")
    if ns > 1 and isr == 1 and mode in ("isr", "ratio", "spacings"):
        raise ValueError(f"isr={isr!r} in mode {mode!r} puts γ at 0, a saddle where its gradient vanishes")
    return [sigma_basis * isr ** (i / (ns - 1)) if ns > 1 else sigma_basis for i in range(ns)]


class InternalScales(nn.Module):
    """The N_S internal scales (pixels) shared by all scale convolutions.

    ns: number of scales; sigma_basis: smallest scale (px); isr: largest /
    smallest; mode: one of ``MODES``; learn_sigma: whether σ_basis is learnt
    (ignored by ``fixed``); scales: optional initial scales (px) for the
    modes fixed, spacings and direct instead of (sigma_basis, isr).
    """

    def __init__(self, ns=3, sigma_basis=2.0, isr=3.0, mode="isr", learn_sigma=True, scales=None):
        super().__init__()
        initial = _initial_scales(ns, sigma_basis, isr, mode, scales)
        self.mode = mode
        self.ns = ns
        sigma = torch.tensor(initial[0])
        if mode == "fixed":
            self.register_buffer("sigma", sigma)
            self.register_buffer("factors", torch.tensor(initial) / initial[0])
        elif learn_sigma:
            self.sigma = nn.Parameter(sigma)
        else:
            self.register_buffer("sigma", sigma)
        ratios = [b / a for a, b in zip(initial, initial[1:])]
        if ns > 1 and mode == "isr":
            self.gamma = nn.Parameter(torch.tensor(math.sqrt(initial[-1] / initial[0] - 1)))
        elif ns > 1 and mode == "ratio":
            self.gamma = nn.Parameter(torch.tensor(math.sqrt(ratios[0] - 1)))
        elif ns > 1 and mode == "spacings":
            self.gamma = nn.Parameter(torch.tensor([math.sqrt(r - 1) for r in ratios]))
        elif mode == "direct":
            self.rest = nn.Parameter(torch.tensor(initial[1:]))
        self._cache = DerivedCache()

    def forward(self) -> Tensor:
        """The scales [ns] in pixels; raises ValueError if any is not finite and > 0."""
        return self._scales_from(dict(self.named_parameters()))

    def _scales_from(self, params: dict[str, Tensor]) -> Tensor:
        """Scales computed from ``params`` (by name) and this module's buffers."""
        tensors = {**dict(self.named_buffers()), **params}
        sigma = tensors["sigma"]
        if self.mode == "fixed":
            scales = sigma * tensors["factors"]
        elif self.mode == "direct":
            scales = torch.cat([sigma[None], tensors["rest"]])
        elif self.ns == 1:
            scales = sigma[None]
        else:
            ratios = 1 + tensors["gamma"] ** 2
            steps = torch.arange(self.ns, dtype=sigma.dtype, device=sigma.device)
            if self.mode == "isr":
                scales = sigma * ratios ** (steps / (self.ns - 1))
            elif self.mode == "ratio":
                scales = sigma * ratios**steps
            else:
                scales = sigma * torch.cat([torch.ones_like(ratios[:1]), torch.cumprod(ratios, 0)])
        values = scales.detach().tolist()
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"internal scales {values} (mode {self.mode!r}) are no longer finite and > 0")
        return scales

    @property
    def values(self) -> list[float]:
        """Current scales in pixels, detached."""
        with torch.no_grad():
            return self().tolist()

    @property
    def sigma_basis(self) -> float:
        """Current smallest scale (px)."""
        return min(self.values)

    @property
    def isr(self) -> float:
        """Current internal scale range: largest / smallest scale."""
        values = self.values
        return max(values) / min(values)

    @property
    def learnable(self) -> bool:
        return any(p.requires_grad for p in self.parameters())

    def derived(self, key: Hashable, build: Callable[[Tensor], Any]) -> Any:
        """``build(scales)`` for the current scales, cached under ``key``.

        build must be a pure function of the scales tensor returning a Tensor
        or a NamedTuple of Tensors; see ``DerivedCache`` for when it reruns.
        """
        return self._cache.get(key, build, self._scales_from, self)

    def extra_repr(self) -> str:
        shown = ", ".join(f"{v:.3f}" for v in self.values)
        return f"mode={self.mode}, ns={self.ns}, scales=[{shown}] px, learnable={self.learnable}"


def scale_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters of every InternalScales inside ``model`` (each once)."""
    found = {}
    for module in model.modules():
        if isinstance(module, InternalScales):
            for p in module.parameters():
                found[id(p)] = p
    return list(found.values())
