"""A cache of values derived from a module's tensors (e.g. a basis built from
learnable scales).

How it decides what is current: at each lookup it compares, with the previous
lookup, the grad mode and every parameter's and buffer's identity, storage,
device, dtype, in-place version and requires_grad, and then their values.
Anything different (an optimiser step, ``.to()``, ``load_state_dict``, entering
``no_grad``) drops every entry. A value built with grad enabled and learnable
parameters stays valid for any number of backward passes: its gradient
recomputes it from the parameter values of the forward call instead of keeping
an autograd graph that a backward pass would free; double backward works too.
"""

from collections.abc import Callable, Hashable
from typing import Any

import torch
from torch import Tensor, nn


class _Recomputed(torch.autograd.Function):
    """``build(*params)`` whose backward recomputes it from the parameter values
    of the forward call, so its output owns no buffers a backward pass frees.

    build returns a Tensor or a tuple of Tensors. Under ``create_graph=True``
    the backward recomputes from the parameters themselves and records its
    graph, so double backward (gradient penalties) reaches them; that needs
    the parameters unchanged since the forward call.
    """

    @staticmethod
    def forward(ctx, build, *params):
        ctx.build = build
        ctx.values = [p.detach().clone() for p in params]
        ctx.save_for_backward(*params)
        out = build(*params)
        return out if isinstance(out, Tensor) else tuple(out)

    @staticmethod
    def backward(ctx, *grads):
        create_graph = torch.is_grad_enabled()
        # create_graph: differentiate through the parameters themselves
        inputs = list(ctx.saved_tensors) if create_graph else [v.clone().requires_grad_() for v in ctx.values]
        with torch.enable_grad():
            out = ctx.build(*inputs)
        out = [out] if isinstance(out, Tensor) else list(out)
        used = [(o, g) for o, g in zip(out, grads) if o.requires_grad and g is not None]
        if not used:
            return (None, *[None] * len(inputs))
        outputs, weights = zip(*used)
        found = torch.autograd.grad(outputs, inputs, weights, allow_unused=True, create_graph=create_graph)
        return (None, *found)


class DerivedCache:
    """Values derived from the tensors of one module, keyed by the caller.

    Entries hold autograd graphs, so copies and pickles start empty.
    """

    def __init__(self) -> None:
        self._entries: dict[Hashable, Any] = {}
        self._identity: tuple | None = None
        self._snapshot: Tensor | None = None

    def __deepcopy__(self, memo) -> "DerivedCache":
        return DerivedCache()

    def __reduce__(self):
        return (DerivedCache, ())

    def get(
        self,
        key: Hashable,
        build: Callable[[Tensor], Any],
        compute: Callable[[dict[str, Tensor]], Tensor],
        module: nn.Module,
    ) -> Any:
        """``build(compute(parameters))`` for ``module``'s current tensors.

        compute maps the module's parameters (by name) to the tensor that
        build takes; build returns a Tensor or a NamedTuple of Tensors.
        """
        if not self._is_current(module):
            self._entries.clear()
        if key not in self._entries:
            self._entries[key] = self._derive(build, compute, module)
        return self._entries[key]

    @staticmethod
    def _derive(build, compute, module: nn.Module) -> Any:
        learnt = {name: p for name, p in module.named_parameters() if p.requires_grad}
        if not (torch.is_grad_enabled() and learnt):
            return build(compute(dict(module.named_parameters())))
        result_type: dict[str, type] = {}

        def from_parameters(*values):
            out = build(compute(dict(zip(learnt, values))))
            result_type.setdefault("type", type(out))
            return out

        out = _Recomputed.apply(from_parameters, *learnt.values())
        return out if isinstance(out, Tensor) else result_type["type"](*out)

    def _is_current(self, module: nn.Module) -> bool:
        tensors = list(module.parameters()) + list(module.buffers())
        identity = (torch.is_grad_enabled(),) + tuple(
            (id(t), t.data_ptr(), t.device, t.dtype, t._version, t.requires_grad) for t in tensors
        )
        snapshot = torch.cat([t.detach().reshape(-1) for t in tensors])
        current = self._identity == identity and self._snapshot is not None and torch.equal(self._snapshot, snapshot)
        self._identity, self._snapshot = identity, snapshot.clone()
        return current
