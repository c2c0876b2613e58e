"""State dicts that say what their numbers mean, and shared modules saved once.

``CarriesSettings``: a module's state dict holds, under ``<prefix>_extra_state``,
the settings that give its tensors their meaning (e.g. N_S and the
parameterisation of the internal scales, the basis of a layer). Loading a
state whose settings differ raises ``StateMismatchError`` naming the
difference, before any tensor is copied. The settings travel as a uint8 tensor
holding UTF-8 JSON, so state dicts stay tensor-only (``torch.load(...,
weights_only=True)``, safetensors and ``{k: v.clone()}`` loops all take them).

``SavedOnce``: a module registered in several places of a model (the one
``InternalScales`` every layer refers to) appears once in the model's state
dict, under the prefix of its first occurrence (the name ``named_parameters``
gives it). Loading fills the other occurrences from it; a state dict holding
several copies that disagree is refused instead of letting the last one win.
"""

from __future__ import annotations

import json
import weakref
from typing import Any, cast

import torch
from torch import Tensor, nn

from scaletol.checks import InputError

EXTRA_STATE = "_extra_state"


class StateMismatchError(InputError, RuntimeError):
    """A state dict does not fit the module it is loaded into (also a
    RuntimeError, like PyTorch's own load_state_dict errors)."""


def encode_settings(settings: dict[str, Any]) -> Tensor:
    """``settings`` (JSON-able) as a 1-D uint8 tensor of UTF-8 JSON."""
    text = json.dumps(settings, sort_keys=True)
    return torch.tensor(list(text.encode("utf-8")), dtype=torch.uint8)


def decode_settings(state: Any) -> dict[str, Any]:
    """Inverse of ``encode_settings``; StateMismatchError for anything else."""
    try:
        settings = json.loads(bytes(torch.as_tensor(state, dtype=torch.uint8).tolist()).decode("utf-8"))
    except (TypeError, ValueError, RuntimeError):
        settings = None
    if not isinstance(settings, dict):
        raise StateMismatchError(f"extra state {state!r} is not a settings record")
    return settings


def settings_difference(saved: dict[str, Any], current: dict[str, Any]) -> str:
    """'' when equal, else e.g. "ns=3 in the state, ns=4 here"."""
    differ = [name for name in sorted(set(saved) | set(current)) if saved.get(name) != current.get(name)]
    return "; ".join(f"{n}={saved.get(n)!r} in the state, {n}={current.get(n)!r} here" for n in differ)


class CarriesSettings(nn.Module):
    """Base (mixin) of a module whose state must carry ``settings()``."""

    def settings(self) -> dict[str, Any]:
        """JSON-able settings that give the module's tensors their meaning."""
        raise NotImplementedError

    def get_extra_state(self) -> Tensor:
        return encode_settings(self.settings())

    def set_extra_state(self, state: Any) -> None:
        """Nothing to set: the settings were checked before loading began."""

    def _load_from_state_dict(self, state_dict, prefix, *args) -> None:
        key = prefix + EXTRA_STATE
        if key in state_dict:
            difference = settings_difference(decode_settings(state_dict[key]), self.settings())
            if difference:
                where = f" at {prefix[:-1]!r}" if prefix else ""
                raise StateMismatchError(f"cannot load this state into the {type(self).__name__}{where}: {difference}")
        super()._load_from_state_dict(state_dict, prefix, *args)


class _Occurrence:
    """The first prefix a shared module was saved or loaded under in the
    current state_dict / load_state_dict call; empty again in copies."""

    def __init__(self) -> None:
        self.saved: tuple[weakref.ref, str] | None = None
        self.loading: tuple[list, str] | None = None

    def __deepcopy__(self, memo) -> _Occurrence:
        return _Occurrence()

    def __reduce__(self):
        return (_Occurrence, ())


class SavedOnce(nn.Module):
    """Base (mixin) of a module that may be registered at several places of
    one model: its tensors enter the model's state dict once."""

    def __init__(self) -> None:
        super().__init__()
        self._occurrence = _Occurrence()

    def state_dict(  # type: ignore[override]
        self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, Any]:
        occurrence = self._occurrence
        if destination is not None and occurrence.saved is not None:
            first_destination, first_prefix = occurrence.saved
            if first_destination() is destination and first_prefix != prefix:
                return cast(dict[str, Any], destination)  # a later occurrence in the same state dict
        saved: dict[str, Any] = super().state_dict(*args, destination=destination, prefix=prefix, keep_vars=keep_vars)
        try:
            occurrence.saved = (weakref.ref(saved), prefix)
        except TypeError:  # a plain dict given as destination: every occurrence is saved
            occurrence.saved = None
        return saved

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, *rest) -> None:
        occurrence = self._occurrence
        first = occurrence.loading
        if first is not None and first[0] is missing_keys and first[1] != prefix:
            self._fill_repeat(state_dict, prefix, first[1])
        else:
            occurrence.loading = (missing_keys, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, *rest)

    def _fill_repeat(self, state_dict, prefix: str, first_prefix: str) -> None:
        """A later occurrence: take what was just loaded at ``first_prefix``,
        refusing a copy of it that differs."""
        current = {**self._tensors(), EXTRA_STATE: self.get_extra_state()}
        for name, value in current.items():
            key = prefix + name
            if key not in state_dict:
                state_dict[key] = value
            elif not _same(state_dict[key], value):
                raise StateMismatchError(
                    f"state holds two different copies of one shared {type(self).__name__}: "
                    f"{key!r} differs from {first_prefix + name!r}"
                )

    def _tensors(self) -> dict[str, Tensor]:
        """Parameters and persistent buffers of this module itself, by name."""
        tensors: dict[str, Tensor] = {n: p for n, p in self._parameters.items() if p is not None}
        tensors.update(
            {n: b for n, b in self._buffers.items() if b is not None and n not in self._non_persistent_buffers_set}
        )
        return tensors


def _same(saved: Any, current: Tensor) -> bool:
    if not isinstance(saved, Tensor) or saved.shape != current.shape:
        return False
    return torch.equal(saved.detach().to(current.device, current.dtype), current.detach())
