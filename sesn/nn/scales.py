"""Internal scales of a scale-equivariant network, fixed or learnable.

One ``InternalScales`` instance is shared by every scale convolution of a
model. Parameterisations (σ_basis is the smallest scale, γ are free reals):

- ``fixed``:    the scales never change (the SESN baseline);
- ``isr``:      S_i = σ_basis · ISR^(i/(N_S−1)),  ISR = 1 + γ²  (thesis Eq. 3, 6);
- ``ratio``:    S_i = σ_basis · (1 + γ²)^i,       so ISR = (1 + γ²)^(N_S−1)
                (the thesis code's parameterisation, behind its "Learn ISR" results);
- ``spacings``: S_i = σ_basis · Π_{j<i} (1 + γ_j²), one γ_j per consecutive pair;
- ``direct``:   every scale is its own parameter.

Quantities derived from the scales (each layer's basis) are cached by
``sesn.nn.cache.DerivedCache``: one basis per training step for every layer
that shares the instance, one in all with fixed scales or under no_grad.
"""

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from scaletol.checks import InputError, check_choice, check_int, check_number, check_positive
from sesn.nn.cache import DerivedCache
from sesn.nn.state import CarriesSettings, SavedOnce

MODES = ("fixed", "isr", "ratio", "spacings", "direct")
# More internal scales than this is a mistake, not a network: each scale is a
# full copy of every feature map (the toy network at N_S = 64 holds 15 GB of
# activations per batch of 128).
MAX_NS = 64


def _initial_scales(ns: Any, sigma_basis: Any, isr: Any, mode: Any, scales: Any) -> list[float]:
    ns = check_int("ns", ns, low=1, high=MAX_NS)
    check_choice("mode", mode, MODES)
    if scales is not None:
        if mode not in ("fixed", "spacings", "direct"):
            raise InputError(f"scales={scales!r} are only accepted by modes fixed, spacings, direct, not mode={mode!r}")
        values = [check_positive(f"scales[{i}]", s) for i, s in enumerate(scales)]
        if len(values) != ns:
            raise InputError(f"scales={values!r} must hold ns={ns} values")
        if mode in ("spacings", "direct") and any(b <= a for a, b in zip(values, values[1:])):
            raise InputError(f"scales={values!r} must increase strictly in mode {mode!r}")
        return values
    sigma_basis = check_positive("sigma_basis", sigma_basis)
    isr = check_number("isr", isr, low=1.0)
    if ns == 1 and isr != 1:
        raise InputError(f"isr={isr!r} must be 1 with ns=1: a single scale has ISR 1")
    if ns > 1 and isr == 1 and mode in ("isr", "ratio", "spacings"):
        raise InputError(f"isr={isr!r} must be > 1 in mode {mode!r}: ISR 1 puts γ at 0, where its gradient vanishes")
    return [sigma_basis * isr ** (i / (ns - 1)) if ns > 1 else sigma_basis for i in range(ns)]


def _field(suggestion: Any, name: str) -> Any:
    if isinstance(suggestion, Mapping):
        if name not in suggestion:
            raise InputError(f"suggestion={suggestion!r} must hold {name!r}")
        return suggestion[name]
    if not hasattr(suggestion, name):
        raise InputError(f"suggestion={suggestion!r} must have an attribute {name!r} (a tolerance Suggestion)")
    return getattr(suggestion, name)


class InternalScales(CarriesSettings, SavedOnce, nn.Module):
    """The N_S internal scales (pixels) shared by all scale convolutions.

    ns: number of scales (1 … MAX_NS); sigma_basis: smallest scale (px); isr:
    largest / smallest (≥ 1); mode: one of ``MODES``; learn_sigma: whether
    σ_basis is learnt (ignored by ``fixed``); scales: optional initial scales
    (px) for the modes fixed, spacings and direct instead of (sigma_basis,
    isr), strictly increasing for spacings and direct. Numbers may be Python,
    NumPy or 0-d tensor numbers; bad values raise InputError naming them.

    Register it in as many layers as share it: a model's state dict holds it
    once, with its ns and mode (``sesn.nn.state``), so it cannot be loaded
    into scales with another N_S or parameterisation.
    """

    def __init__(
        self,
        ns: int = 3,
        sigma_basis: float = 2.0,
        isr: float = 3.0,
        mode: str = "isr",
        learn_sigma: bool = True,
        scales: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(learn_sigma, (bool, np.bool_)):
            raise InputError(f"learn_sigma={learn_sigma!r} must be True or False")
        initial = _initial_scales(ns, sigma_basis, isr, mode, scales)
        self.mode = mode
        self.ns = len(initial)
        ns = self.ns
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

    @classmethod
    def from_suggestion(cls, suggestion: Any, mode: str = "isr", *, learn_sigma: bool = True) -> "InternalScales":
        """Scales initialised from a tolerance suggestion.

        suggestion: a ``tolerance`` Suggestion (``tolerance.fit.suggest``) or
        the JSON object of ``tolcli suggest --json``. Modes isr, ratio and
        fixed start from its σ_basis (px) and ISR, spacings and direct from all
        its scales in px (σ_unit · internal scales); N_S is the suggestion's.
        """
        check_choice("mode", mode, MODES)
        ns = check_int("suggestion.ns", _field(suggestion, "ns"), low=1, high=MAX_NS)
        if mode in ("spacings", "direct"):
            if isinstance(suggestion, Mapping):
                pixels = _field(suggestion, "internal_scales_px")
            else:
                sigma_unit = check_positive("suggestion.sigma_unit", _field(suggestion, "sigma_unit"))
                pixels = [sigma_unit * float(c) for c in _field(suggestion, "internal_scales")]
            return cls(ns=ns, mode=mode, learn_sigma=learn_sigma, scales=[float(p) for p in pixels])
        sigma_basis = check_positive("suggestion.sigma_basis", _field(suggestion, "sigma_basis"))
        isr = check_number("suggestion.isr", _field(suggestion, "isr"), low=1.0)
        return cls(ns=ns, sigma_basis=sigma_basis, isr=isr, mode=mode, learn_sigma=learn_sigma)

    def settings(self) -> dict[str, Any]:
        """What this module's tensors mean: N_S and the parameterisation."""
        return {"ns": self.ns, "mode": self.mode}

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
            raise InputError(f"internal scales {values} (mode {self.mode!r}) must stay finite and > 0")
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
        """Whether any scale parameter is trained."""
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
