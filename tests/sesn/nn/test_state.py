"""State dicts carry what their numbers mean, and shared scales are stored once."""

import copy
import io

import pytest
import torch
from torch import nn

from sesn.models import internal_scales, make_model
from sesn.nn.layers import ScaleConvHH, ScaleConvZ2H
from sesn.nn.scales import InternalScales
from sesn.nn.state import StateMismatchError


def two_layers(scales, **basis):
    """The shared scales registered three times: in the model and in both layers."""
    model = nn.Module()
    model.scales = scales
    model.lift = ScaleConvZ2H(1, 2, scales, eff=3, **basis)
    model.group = ScaleConvHH(2, 2, scales, eff=3, **basis)
    return model


def test_the_shared_scales_appear_once_in_the_state_dict():
    model = two_layers(InternalScales(ns=3, sigma_basis=1.0, isr=2.0))
    keys = list(model.state_dict())
    assert [k for k in keys if k.endswith(("sigma", "gamma"))] == ["scales.sigma", "scales.gamma"]
    assert sorted(keys) == sorted(
        ["scales.sigma", "scales.gamma", "scales._extra_state"]
        + ["lift.weight", "lift._extra_state", "group.weight", "group._extra_state"]
    )
    # the same names as named_parameters gives, and every parameter once
    assert [n for n, _ in model.named_parameters()] == ["scales.sigma", "scales.gamma", "lift.weight", "group.weight"]


def test_editing_the_one_copy_changes_the_scales_of_every_layer():
    source = two_layers(InternalScales(ns=3, sigma_basis=1.0, isr=2.0))
    state = source.state_dict()
    state["scales.sigma"] = torch.tensor(1.25)
    target = two_layers(InternalScales(ns=3, sigma_basis=1.0, isr=2.0))
    target.load_state_dict(state)
    assert target.scales.values[0] == pytest.approx(1.25)
    assert target.lift.scales is target.group.scales is target.scales


def test_an_old_state_with_equal_copies_loads_and_conflicting_copies_are_refused():
    model = two_layers(InternalScales(ns=3, sigma_basis=1.0, isr=2.0))
    state = dict(model.state_dict())
    for layer in ("lift", "group"):  # the duplicated layout of earlier versions
        for name in ("sigma", "gamma", "_extra_state"):
            state[f"{layer}.scales.{name}"] = state[f"scales.{name}"].clone()
    model.load_state_dict(state)
    state["group.scales.sigma"] = torch.tensor(3.0)
    with pytest.raises(StateMismatchError, match="group.scales.sigma"):
        model.load_state_dict(state)


@pytest.mark.parametrize(
    ("saved", "loaded", "named"),
    [
        (dict(ns=3), dict(ns=4), "ns=3 in the state, ns=4 here"),
        (dict(mode="isr"), dict(mode="ratio"), "mode='isr' in the state, mode='ratio' here"),
        (dict(mode="direct"), dict(mode="spacings"), "mode='direct'"),
    ],
)
def test_a_state_of_other_scales_is_refused_naming_the_difference(saved, loaded, named):
    source = InternalScales(**{"sigma_basis": 1.0, "isr": 2.0, **saved})
    target = InternalScales(**{"sigma_basis": 1.0, "isr": 2.0, **loaded})
    before = target.values
    with pytest.raises(StateMismatchError, match=named):
        target.load_state_dict(source.state_dict())
    assert target.values == before  # refused before anything was copied


def test_an_isr_state_does_not_turn_into_other_scales_in_a_ratio_model():
    isr = make_model("toy-isr", sigma_basis=1.0, isr=2.0)
    ratio = make_model("toy-ratio", sigma_basis=1.0, isr=2.0)
    with pytest.raises(RuntimeError, match="mode='isr' in the state, mode='ratio' here"):
        ratio.load_state_dict(isr.state_dict())
    assert internal_scales(ratio).values == pytest.approx([1.0, 2**0.5, 2.0])


@pytest.mark.parametrize(
    ("saved", "loaded", "named"),
    [
        (dict(basis="A"), dict(basis="B"), "basis='A' in the state"),
        (dict(basis="B", mult=1.5), dict(basis="B", mult=1.4), "mult=1.5 in the state, mult=1.4 here"),
    ],
)
def test_a_layer_state_of_another_basis_is_refused(saved, loaded, named):
    scales = InternalScales(ns=3, sigma_basis=1.0, isr=2.0)
    state = ScaleConvZ2H(1, 2, scales, eff=3, **saved).state_dict()
    with pytest.raises(StateMismatchError, match=named):
        ScaleConvZ2H(1, 2, scales, eff=3, **loaded).load_state_dict(state)


def test_a_state_without_its_settings_is_incomplete():
    model = two_layers(InternalScales(ns=3, sigma_basis=1.0, isr=2.0))
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("_extra_state")}
    with pytest.raises(RuntimeError, match="scales._extra_state"):
        model.load_state_dict(state)


def test_k_and_max_kernel_only_cut_the_functions_off_so_states_move():
    scales = InternalScales(ns=3, sigma_basis=1.0, isr=2.0)
    source = ScaleConvZ2H(1, 2, scales, eff=3, k=4.0)
    target = ScaleConvZ2H(1, 2, scales, eff=3, k=3.0)
    target.load_state_dict(source.state_dict())
    torch.testing.assert_close(target.weight, source.weight)


def test_state_dicts_stay_tensor_only_and_survive_save_copy_and_devices():
    model = make_model("mnist-scale-isr")
    state = model.state_dict()
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    clone = make_model("mnist-scale-isr")
    clone.load_state_dict({k: v.clone() for k, v in loaded.items()})
    for (name, a), (_, b) in zip(model.named_parameters(), clone.named_parameters()):
        torch.testing.assert_close(a, b, msg=name)
    # the shared scales are one module wherever they are registered, also after copying
    copied = copy.deepcopy(model).double()
    layers = [m for m in copied.modules() if isinstance(m, ScaleConvZ2H | ScaleConvHH)]
    assert all(layer.scales is copied.scales for layer in layers)
    assert copied.scales.sigma.dtype == torch.float64
    assert len(list(copied.parameters())) == len({id(p) for p in copied.parameters()})


def test_a_whole_model_pickles():
    model = make_model("toy-isr", sigma_basis=1.0, isr=2.0)
    model.state_dict()  # leaves a record of the first occurrence behind
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    restored = torch.load(buffer, weights_only=False)
    assert list(restored.state_dict()) == list(model.state_dict())
