import copy
import json
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from scaletol.checks import InputError
from sesn.nn.basis import BasisSpec, build_basis
from sesn.nn.scales import InternalScales, scale_parameters
from tolerance.distributions import make_distribution
from tolerance.fit import suggest


@pytest.mark.parametrize("mode", ["fixed", "isr", "ratio", "spacings", "direct"])
def test_every_mode_starts_on_the_log_spaced_scales(mode):
    scales = InternalScales(ns=3, sigma_basis=2.0, isr=4.0, mode=mode)
    torch.testing.assert_close(scales(), torch.tensor([2.0, 4.0, 8.0]))
    assert scales.sigma_basis == pytest.approx(2.0) and scales.isr == pytest.approx(4.0)
    assert scales.values == pytest.approx([2.0, 4.0, 8.0])


def test_isr_mode_learns_gamma_with_isr_one_plus_gamma_squared():
    scales = InternalScales(ns=4, sigma_basis=1.5, isr=2.0, mode="isr")
    assert scales.gamma.item() ** 2 == pytest.approx(1.0)
    with torch.no_grad():
        scales.gamma.fill_(math.sqrt(7.0))  # ISR = 8
    assert scales.values == pytest.approx([1.5, 3.0, 6.0, 12.0], rel=1e-6)


def test_ratio_mode_raises_the_ratio_to_the_scale_index():
    scales = InternalScales(ns=3, sigma_basis=1.0, isr=9.0, mode="ratio")
    assert scales.gamma.item() ** 2 == pytest.approx(2.0)  # ratio 3 = 1 + γ²
    with torch.no_grad():
        scales.gamma.fill_(1.0)  # ratio 2
    assert scales.values == pytest.approx([1.0, 2.0, 4.0]) and scales.isr == pytest.approx(4.0)


def test_spacings_and_direct_start_from_given_scales():
    spacings = InternalScales(ns=3, mode="spacings", scales=[2.0, 3.0, 6.0])
    torch.testing.assert_close(spacings.gamma**2, torch.tensor([0.5, 1.0]))
    direct = InternalScales(ns=3, mode="direct", scales=[2.0, 3.0, 6.0])
    assert direct.values == pytest.approx([2.0, 3.0, 6.0])
    assert {name for name, _ in direct.named_parameters()} == {"sigma", "rest"}


def test_fixed_mode_and_fixed_sigma_are_not_learnt():
    fixed = InternalScales(mode="fixed", scales=[1.0, 1.26, 1.59, 2.0], ns=4)
    assert not fixed.learnable and list(fixed.parameters()) == []
    assert fixed.values == pytest.approx([1.0, 1.26, 1.59, 2.0])
    gamma_only = InternalScales(learn_sigma=False)
    assert gamma_only.learnable and [n for n, _ in gamma_only.named_parameters()] == ["gamma"]


def test_a_single_scale_has_isr_one():
    single = InternalScales(ns=1, sigma_basis=3.0, isr=1.0)
    assert single.values == [3.0] and single.isr == 1.0


def test_scale_parameters_lists_shared_parameters_once():
    shared = InternalScales()
    model = nn.ModuleDict(
        {"a": nn.ModuleDict({"s": shared}), "b": nn.ModuleDict({"s": shared}), "lin": nn.Linear(2, 2)}
    )
    assert {id(p) for p in scale_parameters(model)} == {id(shared.sigma), id(shared.gamma)}
    assert len(scale_parameters(model)) == 2


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"ns": 0}, "ns=0"),
        ({"ns": 2.0}, "ns=2.0"),
        ({"isr": 0.5}, "isr=0.5"),
        ({"sigma_basis": 0.0}, "sigma_basis=0.0"),
        ({"sigma_basis": float("nan")}, "sigma_basis=nan"),
        ({"isr": float("inf")}, "isr=inf"),
        ({"mode": "log"}, "mode='log'"),
        ({"ns": 1, "isr": 3.0}, "isr=3.0"),
        ({"isr": 1.0}, "isr=1.0"),
        ({"mode": "direct", "scales": [1.0, 2.0]}, r"scales=\[1.0, 2.0\]"),
        ({"mode": "direct", "scales": [1.0, -2.0, 3.0]}, r"scales\[1\]=-2.0"),
        ({"mode": "spacings", "scales": [1.0, 3.0, 2.0]}, r"scales=\[1.0, 3.0, 2.0\]"),
        ({"mode": "direct", "scales": [1.0, 3.0, 3.0]}, r"scales=\[1.0, 3.0, 3.0\] must increase strictly"),
        ({"ns": 500}, r"ns=500 must be an integer in \[1, 64\]"),
        ({"learn_sigma": "no"}, "learn_sigma='no'"),
        ({"learn_sigma": 0}, "learn_sigma=0"),
        ({"sigma_basis": "2"}, "sigma_basis='2'"),
        ({"isr": True}, "isr=True"),
        ({"mode": "isr", "scales": [1.0, 2.0, 3.0]}, "mode='isr'"),
    ],
)
def test_invalid_settings_name_the_value(kwargs, shown):
    with pytest.raises(InputError, match=shown):
        InternalScales(**kwargs)


@pytest.mark.parametrize("number", [np.float64, np.float32, torch.tensor, lambda v: torch.tensor(v).double()])
def test_numpy_and_0d_tensor_numbers_are_numbers(number):
    scales = InternalScales(ns=np.int64(3), sigma_basis=number(2.0), isr=number(4.0), learn_sigma=np.bool_(True))
    assert scales.values == pytest.approx([2.0, 4.0, 8.0]) and scales.ns == 3 and type(scales.ns) is int
    direct = InternalScales(ns=torch.tensor(3), mode="direct", scales=np.array([2.0, 3.0, 6.0]))
    assert direct.values == pytest.approx([2.0, 3.0, 6.0])


def suggestion_for(lo, hi, ns=3, sigma_unit=2.0):
    return suggest(make_distribution("loguniform", lo, hi), ns, sigma_unit=sigma_unit)


@pytest.mark.parametrize("mode", ["fixed", "isr", "ratio"])
def test_from_suggestion_takes_sigma_basis_and_isr(mode):
    suggestion = suggestion_for(1.0, 8.0)
    scales = InternalScales.from_suggestion(suggestion, mode=mode)
    assert scales.mode == mode and scales.ns == 3
    assert scales.sigma_basis == pytest.approx(2.0 * suggestion.c_ref, rel=1e-6)
    assert scales.isr == pytest.approx(suggestion.isr, rel=1e-5)


@pytest.mark.parametrize("mode", ["spacings", "direct"])
def test_from_suggestion_takes_every_scale_in_pixels(mode):
    suggestion = suggestion_for(1.0, 4.0, ns=4, sigma_unit=3.0)
    scales = InternalScales.from_suggestion(suggestion, mode=mode)
    expected = [3.0 * c for c in suggestion.c_ref * suggestion.isr ** (np.arange(4) / 3)]
    assert scales.values == pytest.approx(expected, rel=1e-5)


def test_from_suggestion_takes_the_json_of_tolcli_suggest_and_tensor_numbers():
    suggestion = suggestion_for(1.0, 8.0)
    record = json.loads(json.dumps(suggestion.to_dict()))
    from_json = InternalScales.from_suggestion(record, mode="direct")
    assert from_json.values == pytest.approx(list(2.0 * suggestion.internal_scales), rel=1e-6)
    as_tensors = {"ns": torch.tensor(3), "sigma_basis": torch.tensor(2.5), "isr": np.float32(4.0)}
    assert InternalScales.from_suggestion(as_tensors, mode="ratio").values == pytest.approx([2.5, 5.0, 10.0])
    with pytest.raises(InputError, match="'isr'"):
        InternalScales.from_suggestion({"ns": 3, "sigma_basis": 2.0})
    with pytest.raises(InputError, match="mode='log'"):
        InternalScales.from_suggestion(suggestion, mode="log")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_a_scale_turning_invalid_raises_instead_of_producing_nan_kernels(bad):
    scales = InternalScales()
    with torch.no_grad():
        scales.sigma.fill_(bad)
    with pytest.raises(ValueError, match="internal scales"):
        scales()
    with pytest.raises(ValueError, match="internal scales"):
        scales.derived("anything", lambda s: s)


@pytest.mark.parametrize("mode", ["isr", "ratio", "spacings", "direct"])
def test_gradcheck_scales_and_basis_in_sigma_and_gamma(mode):
    scales = InternalScales(ns=3, sigma_basis=0.8, isr=2.0, mode=mode).double()
    spec = BasisSpec("A", 2, k=2.0)
    names = [name for name, _ in scales.named_parameters()]

    def basis_of(*params):
        s = functional_call(scales, dict(zip(names, params)), ())
        return build_basis(spec, s).dense()

    params = tuple(p.detach().clone().requires_grad_() for p in scales.parameters())
    assert torch.autograd.gradcheck(basis_of, params)


class Counter:
    """A derived quantity that counts forward builds and backward recomputations."""

    def __init__(self):
        self.builds = 0
        self.recomputations = 0

    def __call__(self, scales):
        if torch.is_grad_enabled():
            self.recomputations += 1
        else:
            self.builds += 1
        return scales * 2

    @property
    def calls(self):
        return self.builds + self.recomputations


def test_derived_values_are_built_once_per_training_step():
    scales = InternalScales()
    build = Counter()
    optimiser = torch.optim.SGD(scales.parameters(), lr=0.01)
    for step in range(3):
        first = scales.derived("key", build)
        second = scales.derived("key", build)  # a second layer in the same forward pass
        assert first is second and build.builds == step + 1
        (first.sum() + second.sum()).backward()
        assert build.recomputations == step + 1  # the backward pass recomputes, once
        optimiser.step()
        optimiser.zero_grad()


def test_gradients_through_a_cached_value_accumulate_over_backward_passes():
    scales = InternalScales()
    build = Counter()
    scales.derived("key", build).sum().backward()
    once = scales.gamma.grad.clone()
    scales.derived("key", build).sum().backward()  # no step: the cache is reused
    assert build.builds == 1
    torch.testing.assert_close(scales.gamma.grad, 2 * once)
    expected = torch.autograd.grad(scales().sum() * 2, scales.gamma)[0]
    torch.testing.assert_close(once, expected)


def test_two_outputs_of_one_cached_value_backpropagate_separately():
    scales = InternalScales()
    first = scales.derived("key", Counter()) * 3
    second = scales.derived("key", Counter()) * 5
    first.sum().backward()
    second.sum().backward()  # would fail if the first backward had freed the shared graph
    expected = torch.autograd.grad(scales().sum() * 16, scales.sigma)[0]
    torch.testing.assert_close(scales.sigma.grad, expected)


def test_fixed_scales_and_no_grad_reuse_the_cache():
    build = Counter()
    fixed = InternalScales(mode="fixed")
    for _ in range(3):
        fixed.derived("key", build).sum()
    learnable = InternalScales()
    with torch.no_grad():
        for _ in range(3):
            learnable.derived("key", build)
    assert build.calls == 2


def test_cache_follows_in_place_parameter_changes():
    scales = InternalScales()
    with torch.no_grad():
        before = scales.derived("key", lambda s: s.clone())
        scales.sigma.add_(1.0)
        after = scales.derived("key", lambda s: s.clone())
    assert after[0] == pytest.approx(float(before[0]) + 1.0)


def test_deepcopy_with_a_populated_cache():
    scales = InternalScales()
    scales.derived("key", lambda s: s * 2)
    clone = copy.deepcopy(scales)
    assert clone.values == pytest.approx(scales.values) and clone.sigma is not scales.sigma


def test_repr_shows_mode_and_scales():
    text = repr(InternalScales(ns=3, sigma_basis=2.0, isr=4.0, mode="ratio"))
    assert "mode=ratio" in text and "[2.000, 4.000, 8.000]" in text
