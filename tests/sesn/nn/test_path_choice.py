import math

import pytest
import torch

from sesn.nn import path_choice
from sesn.nn.layers import ScaleConvHH, ScaleConvZ2H
from sesn.nn.scales import InternalScales


class FakeClock:
    """perf_counter that advances only when a path runs, by that path's cost."""

    def __init__(self, seconds):
        self.now, self.seconds, self.calls = 0.0, seconds, []

    def __call__(self):
        return self.now

    def run(self, path):
        self.calls.append(path)
        self.now += self.seconds[path]


@pytest.fixture(autouse=True)
def no_measurements():
    path_choice.forget_measurements()
    yield
    path_choice.forget_measurements()


def test_near_the_boundary_the_faster_measured_path_wins_and_is_remembered(monkeypatch):
    clock = FakeClock({"direct": 1.0, "separable": 2.0})
    monkeypatch.setattr(path_choice.time, "perf_counter", clock)
    costs = (10.0, 5.0)  # the rule prefers separable, by 2×: within MEASURE_WITHIN
    assert path_choice.pick_path("shape", costs, clock.run) == "direct"
    assert clock.calls.count("direct") == 2 and "separable" in clock.calls
    calls = len(clock.calls)
    assert path_choice.pick_path("shape", costs, clock.run) == "direct"
    assert len(clock.calls) == calls  # measured once per signature
    assert path_choice.measured_choices() == {"shape": "direct"}


def test_a_slower_first_call_of_the_other_path_ends_the_measurement(monkeypatch):
    clock = FakeClock({"direct": 3.0, "separable": 1.0})
    monkeypatch.setattr(path_choice.time, "perf_counter", clock)
    assert path_choice.pick_path("shape", (10.0, 5.0), clock.run) == "separable"
    assert clock.calls == ["separable", "separable", "direct"]


def test_far_from_the_boundary_or_without_a_runner_the_rule_decides(monkeypatch):
    clock = FakeClock({"direct": 1.0, "separable": 2.0})
    monkeypatch.setattr(path_choice.time, "perf_counter", clock)
    far = (10.0 * path_choice.MEASURE_WITHIN, 9.0)
    assert path_choice.pick_path("a", far, clock.run) == "separable"
    assert path_choice.pick_path("b", (10.0, 5.0), None) == "separable"
    monkeypatch.setattr(path_choice, "benchmark", False)
    assert path_choice.pick_path("c", (10.0, 5.0), clock.run) == "separable"
    assert clock.calls == [] and path_choice.measured_choices() == {}


def test_the_rule_counts_the_work_that_does_not_grow_with_the_batch():
    args = dict(in_channels=32, span=1, out_channels=63, n_scales=4, height=28, width=28, size=25, functions=49)
    one, two = (path_choice.direct_flops(batch, **args) for batch in (1, 2))
    kernels = 2 * 4 * 63 * 32 * 49 * 25 * 25
    assert one - kernels == two - one  # per-sample work, plus the kernels once
    spectra = path_choice.separable_flops(1, 32, 4, 1, 63, 4, 28, 28, 25, atoms=19, functions=49)[2]
    assert spectra == path_choice.separable_flops(64, 32, 4, 1, 63, 4, 28, 28, 25, atoms=19, functions=49)[2]


def measuring_layer(kind=ScaleConvHH):
    scales = InternalScales(ns=3, sigma_basis=1.0, isr=2.0)
    torch.manual_seed(3)
    return kind(2, 3, scales, eff=3, bias=True) if kind is ScaleConvHH else kind(1, 3, scales, eff=3)


def test_auto_measures_once_per_shape_without_touching_gradients(monkeypatch):
    monkeypatch.setattr(path_choice, "MEASURE_WITHIN", math.inf)
    layer = measuring_layer()
    x = torch.randn(2, 2, 3, 12, 12, requires_grad=True)
    y = layer(x)
    assert layer.weight.grad is None and x.grad is None and layer.scales.gamma.grad is None
    ((key, chosen),) = path_choice.measured_choices().items()
    assert chosen in ("direct", "separable") and "cpu" in str(key) and torch.float32 in key
    layer(x)
    assert len(path_choice.measured_choices()) == 1
    layer(torch.randn(3, 2, 3, 12, 12))  # another batch (and no input gradient): another signature
    with torch.no_grad():
        layer(x)  # inference: another signature
    assert len(path_choice.measured_choices()) == 3
    # whatever was measured, auto computes the function both paths compute
    layer.path = "direct"
    torch.testing.assert_close(y, layer(x), rtol=0, atol=2e-6 * y.abs().max().item())


def test_nothing_is_measured_under_compile_or_trace(monkeypatch):
    monkeypatch.setattr(path_choice, "MEASURE_WITHIN", math.inf)
    torch._dynamo.reset()
    layer = measuring_layer(ScaleConvZ2H)
    x = torch.randn(2, 1, 12, 12)
    torch.compile(layer, backend="eager")(x)
    torch._dynamo.reset()
    with pytest.warns(torch.jit.TracerWarning):
        torch.jit.trace(layer, x, check_trace=False)  # the check reruns the layer eagerly
    assert path_choice.measured_choices() == {}
