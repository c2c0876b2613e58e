"""The scale layers under PyTorch's tools: jit.trace, double backward, low
precision and autocast, dtype checks (torch.compile: test_compile.py)."""

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from scaletol.checks import InputError
from sesn.nn.basis import build_basis
from sesn.nn.layers import ScaleConv1x1, ScaleConvHH, ScaleConvZ2H, ScaleProjection
from sesn.nn.scales import InternalScales

PATHS = ("direct", "separable")


def seeded_pair(path, dtype=torch.float32, bias=True):
    """A lifting and an H→H layer sharing learnable scales (σ 1.2 px, ISR 3), fixed seed."""
    torch.manual_seed(11)
    scales = InternalScales(ns=3, sigma_basis=1.2, isr=3.0).to(dtype)
    lift = ScaleConvZ2H(1, 4, scales, path=path, bias=bias).to(dtype)
    group = ScaleConvHH(4, 2, scales, scale_size=2, path=path).to(dtype)
    return lift, group


def reference_lift(layer, x):
    """ScaleConvZ2H from its definition: per scale, F.conv2d with Σ_f w_f ψ_f, the
    basis built afresh (no cache, no path) from the scales."""
    basis = build_basis(layer.spec, layer.scales()).dense()  # [F, S, l, l]
    outputs = []
    for i in range(basis.shape[1]):
        kernel = torch.einsum("oif,fyx->oiyx", layer.weight, basis[:, i])
        outputs.append(F.conv2d(x, kernel, layer.bias, padding=basis.shape[-1] // 2))
    return torch.stack(outputs, dim=2)


@pytest.mark.parametrize("path", ["auto", "direct"])
def test_jit_trace_of_a_layer_equals_eager_on_new_inputs(path):
    lift, _ = seeded_pair(path)
    x = torch.randn(2, 1, 20, 18)
    with pytest.warns(torch.jit.TracerWarning):  # the kernel size is read from the scales
        traced = torch.jit.trace(lift, x)
    for other in (torch.randn(3, 1, 20, 18), torch.randn(1, 1, 31, 25)):  # another batch, another size
        expected = lift(other)
        assert traced(other).shape == expected.shape == (other.shape[0], 4, 3, *other.shape[-2:])
        torch.testing.assert_close(traced(other), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_jit_trace_of_the_separable_path_raises_instead_of_freezing_sizes():
    lift, _ = seeded_pair("separable")
    with pytest.raises(RuntimeError, match="cannot be traced.*export"):
        torch.jit.trace(lift, torch.randn(2, 1, 20, 18))


def test_double_backward_through_the_max_projection():
    x = torch.randn(2, 2, 3, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x.requires_grad_()
    assert torch.autograd.gradgradcheck(ScaleProjection("max"), (x,))


def test_gradient_of_the_max_projection_is_differentiable_in_the_upstream_gradient():
    x = torch.randn(1, 2, 3, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).requires_grad_()
    upstream = torch.randn(1, 2, 4, 4, dtype=torch.float64).requires_grad_()
    (grad_x,) = torch.autograd.grad(ScaleProjection("max")(x), x, upstream, create_graph=True)
    (grad_upstream,) = torch.autograd.grad(grad_x.square().sum(), upstream)
    # each upstream gradient lands on exactly one scale: d/dg Σ (g·1)² = 2g
    torch.testing.assert_close(grad_upstream, 2 * upstream.detach())


@pytest.mark.parametrize("path", PATHS)
def test_gradgradcheck_through_a_layer_and_its_cached_basis(path):
    scales = InternalScales(ns=2, sigma_basis=0.8, isr=1.5).double()
    layer = ScaleConvHH(2, 1, scales, scale_size=2, eff=2, k=2.0, path=path).double()
    x = torch.randn(1, 2, 2, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    names = ["scales.sigma", "scales.gamma", "weight"]

    def output(*params):
        return functional_call(layer, dict(zip(names, params)), (x,))

    params = tuple(dict(layer.named_parameters())[n].detach().clone().requires_grad_() for n in names)
    assert torch.autograd.gradgradcheck(output, params, fast_mode=True)


@pytest.mark.parametrize("path", PATHS)
def test_gradient_penalty_reaches_the_scales(path):
    """d/dθ ‖∂L/∂x‖² through the layer and projection equals the same
    penalty computed from the definition without cache or custom backward."""
    lift, _ = seeded_pair(path)
    lift.double()
    x = torch.randn(2, 1, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(5))

    def penalty_grads(forward):
        probe = x.clone().requires_grad_()
        loss = forward(probe).sin().sum()
        (grad_x,) = torch.autograd.grad(loss, probe, create_graph=True)
        return torch.autograd.grad(grad_x.square().sum(), [lift.scales.sigma, lift.scales.gamma, lift.weight])

    lift(x)  # populate the cache with a value built in an earlier forward call
    got = penalty_grads(lambda p: ScaleProjection("max")(lift(p)))
    expected = penalty_grads(lambda p: reference_lift(lift, p).amax(dim=2))
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-7, atol=1e-9 * e.abs().max().item())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("path", PATHS)
def test_half_and_bfloat16_models_work_on_both_paths(path, dtype):
    lift, group = seeded_pair(path)
    x = torch.randn(2, 1, 20, 20, generator=torch.Generator().manual_seed(6))
    expected = group(lift(x))
    lift.to(dtype), group.to(dtype)
    y = group(lift(x.to(dtype)))
    assert y.dtype == dtype
    # float16 keeps ~3 decimal digits, bfloat16 ~2
    tolerance = 5e-3 if dtype == torch.float16 else 4e-2
    assert (y.float() - expected).abs().max() <= tolerance * expected.abs().max()
    y.float().square().sum().backward()
    assert lift.scales.gamma.grad is not None and torch.isfinite(lift.scales.gamma.grad)


def test_autocast_output_dtype_does_not_depend_on_the_path():
    x = torch.randn(2, 1, 20, 20, generator=torch.Generator().manual_seed(7))
    dtypes, outputs = [], []
    for path in PATHS:
        lift, group = seeded_pair(path)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            hidden = lift(x)
            y = group(hidden)
        dtypes.append((hidden.dtype, y.dtype))
        outputs.append(y.float())
    assert dtypes[0] == dtypes[1] == (torch.bfloat16, torch.bfloat16)
    assert (outputs[0] - outputs[1]).abs().max() <= 4e-2 * outputs[0].abs().max()


@pytest.mark.parametrize(
    "make",
    [
        lambda s: ScaleConvZ2H(1, 2, s),
        lambda s: ScaleConvHH(1, 2, s),
        lambda s: ScaleConv1x1(1, 2),
    ],
)
def test_an_input_of_another_dtype_names_the_layer_and_both_dtypes(make):
    layer = make(InternalScales(ns=3, sigma_basis=1.0, isr=2.0)).double()
    shape = (1, 1, 8, 8) if isinstance(layer, ScaleConvZ2H) else (1, 1, 3, 8, 8)
    with pytest.raises(InputError, match=rf"{type(layer).__name__}.*float32.*float64"):
        layer(torch.zeros(shape))
