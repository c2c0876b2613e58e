"""Internal scales of a scale-equivariant network, fixed or learnable.

One ``InternalScales`` instance is shared by every scale convolution of a
model. Parameterisations (σ_basis is the smallest scale, γ are free reals):

- ``fixed``:    the scales never change (the SESN baseline);
- ``isr``:      S_i = σ_basis · ISR^(i/(N_S−1)),  ISR = 1 + γ²  (thesis Eq. 3, 6);
- ``ratio``:    S_i = σ_basis · (1 + γ²)^i,       so ISR = (1 + γ²)^(N_S−1);
- ``spacings``: S_i = σ_basis · Π_{j<i} (1 + γ_j²), one γ_j per consecutive pair;
- ``direct``:   every scale is its own parameter.

Quantities derived from the scales (the basis of each layer configuration) are
cached here and rebuilt only when a parameter or buffer changes (an optimiser
step) or grad mode flips: with learnable scales every layer that shares this
instance reuses one basis per training step, and with fixed scales or under
no_grad the basis is built once. A cached value stays valid for any number of
backward passes because its gradient recomputes it from the parameters
instead of keeping an autograd graph that a backward pass would free.
"""

import math
from collections.abc import Callable, Hashable
from typing import Any

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

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
        raise ValueError(
            f"isr={isr!r} in mode {mode!r} puts γ at 0, a saddle where its gradient vanishes"
        )
    return [sigma_basis * isr ** (i / (ns - 1)) if ns > 1 else sigma_basis for i in range(ns)]


class _Recomputed(torch.autograd.Function):
    """``build(*params)`` whose backward recomputes it from the parameter values
    of the forward call, so its output owns no buffers a backward pass frees.

    build returns a Tensor or a tuple of Tensors.
    """

    @staticmethod
    def forward(ctx, build, *params):
        ctx.build = build
        ctx.values = [p.detach().clone() for p in params]
        out = build(*params)
        return out if isinstance(out, Tensor) else tuple(out)

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads):
        with torch.enable_grad():
            inputs = [v.clone().requires_grad_() for v in ctx.values]
            out = ctx.build(*inputs)
        out = [out] if isinstance(out, Tensor) else list(out)
        used = [(o, g) for o, g in zip(out, grads) if o.requires_grad and g is not None]
        if not used:
            return (None, *[None] * len(inputs))
        outputs, weights = zip(*used)
        return (None, *torch.autograd.grad(outputs, inputs, weights, allow_unused=True))


class _DerivedCache(dict):
    """Cache entries hold autograd graphs: copies and pickles start empty."""

    def __deepcopy__(self, memo):
        return _DerivedCache()

    def __reduce__(self):
        return (_DerivedCache, ())


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
        self._cache = _DerivedCache()
        self._cache_identity = None
        self._cache_snapshot = None

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
        or a NamedTuple of Tensors. The cache is dropped when a parameter or
        buffer changes (value, identity, device, dtype, requires_grad) and when
        grad mode flips.
        """
        if not self._cache_is_current():
            self._cache.clear()
        if key not in self._cache:
            self._cache[key] = self._derive(build)
        return self._cache[key]

    def _derive(self, build: Callable[[Tensor], Any]) -> Any:
        learnt = {name: p for name, p in self.named_parameters() if p.requires_grad}
        if not (torch.is_grad_enabled() and learnt):
            return build(self())
        result_type = {}

        def from_parameters(*values):
            out = build(self._scales_from(dict(zip(learnt, values))))
            result_type.setdefault("type", type(out))
            return out

        out = _Recomputed.apply(from_parameters, *learnt.values())
        return out if isinstance(out, Tensor) else result_type["type"](*out)

    def _cache_is_current(self) -> bool:
        tensors = list(self.parameters()) + list(self.buffers())
        identity = (torch.is_grad_enabled(),) + tuple(
            (id(t), t.data_ptr(), t.device, t.dtype, t._version, t.requires_grad) for t in tensors
        )
        snapshot = torch.cat([t.detach().reshape(-1) for t in tensors])
        current = (
            self._cache_identity == identity
            and self._cache_snapshot is not None
            and torch.equal(self._cache_snapshot, snapshot)
        )
        self._cache_identity, self._cache_snapshot = identity, snapshot.clone()
        return current

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
