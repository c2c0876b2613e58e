import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import functional_call

from sesn.nn.basis import BasisSpec, build_basis
from sesn.nn.layers import ScaleConvHH, ScaleConvZ2H, ScaleProjection, projected
from sesn.nn.path_choice import choose_path, direct_flops
from sesn.nn.scales import InternalScales
from sesn.nn.separable import (
    CACHE_BYTES,
    DEVICE_CHUNK_BYTES,
    chunk_budget,
    chunk_size,
    padded_length,
    separable_scale_conv,
)


def smooth(n, primes):
    for prime in primes:
        while n % prime == 0:
            n //= prime
    return n == 1


@settings(deadline=None, max_examples=60)
@given(st.integers(1, 5000), st.sampled_from([1, 3, 25, 49]))
def test_fft_lengths_are_the_next_smooth_numbers(n, size):
    """Real transforms (columns): next 5-smooth length; complex ones (rows): next 11-smooth."""
    needed = n + size // 2
    for real, primes in ((True, (2, 3, 5)), (False, (2, 3, 5, 7, 11))):
        length = padded_length(n, size, real=real)
        assert length >= needed and smooth(length, primes)
        assert not any(smooth(m, primes) for m in range(needed, length))


def test_fft_length_examples():
    assert [padded_length(n, 1, real=True) for n in (1, 7, 216, 217, 79)] == [1, 8, 216, 225, 80]
    assert [padded_length(n, 1, real=False) for n in (1, 13, 217, 61)] == [1, 14, 220, 63]


def seeded(layer_type, path, **kwargs):
    """A layer with its own scales (σ 1.2 px, ISR 3) and weights from a fixed seed."""
    scales = InternalScales(ns=3, sigma_basis=1.2, isr=3.0)
    generator = torch.Generator().manual_seed(7)
    layer = layer_type(*kwargs.pop("channels"), scales, path=path, **kwargs)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator))
        if layer.bias is not None:
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator))
    return layer


@pytest.mark.parametrize(
    ("layer_type", "channels", "kwargs", "shape"),
    [
        (ScaleConvZ2H, (1, 4), {}, (3, 1, 31, 26)),
        (ScaleConvZ2H, (3, 2), {"basis": "B", "eff": 4, "bias": True}, (2, 3, 20, 20)),
        (ScaleConvZ2H, (2, 2), {"stride": 2}, (2, 2, 17, 22)),
        (ScaleConvHH, (2, 3), {"scale_size": 2}, (2, 2, 3, 19, 23)),
        (ScaleConvHH, (3, 2), {"basis": "B", "eff": 5, "stride": 3}, (2, 3, 3, 25, 16)),
    ],
)
def test_separable_path_equals_direct_path(layer_type, channels, kwargs, shape):
    direct = seeded(layer_type, "direct", channels=channels, **kwargs)
    separable = seeded(layer_type, "separable", channels=channels, **kwargs)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(3))
    expected, y = direct(x), separable(x)
    assert y.shape == expected.shape and y.dtype == torch.float32
    torch.testing.assert_close(y, expected, rtol=0, atol=2e-6 * expected.abs().max().item())
    expected.square().sum().backward()
    y.square().sum().backward()
    for name in ("weight", "scales.sigma", "scales.gamma"):
        expected_grad = dict(direct.named_parameters())[name].grad
        grad = dict(separable.named_parameters())[name].grad
        torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-4 * expected_grad.abs().max().item())


def test_gradcheck_through_the_separable_path_in_sigma_and_gamma():
    scales = InternalScales(ns=2, sigma_basis=0.8, isr=1.5).double()
    layer = ScaleConvHH(2, 1, scales, scale_size=2, eff=2, k=2.0, path="separable").double()
    x = torch.randn(1, 2, 2, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    names = ["scales.sigma", "scales.gamma", "weight"]

    def output(*params):
        return functional_call(layer, dict(zip(names, params)), (x,))

    params = tuple(dict(layer.named_parameters())[n].detach().clone().requires_grad_() for n in names)
    assert torch.autograd.gradcheck(output, params, fast_mode=True)


def test_chunks_give_the_same_result_as_one_batch(monkeypatch):
    basis = build_basis(BasisSpec("A", 3), torch.tensor([1.0, 2.0]))
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(5, 1, 1, 14, 14, generator=generator)
    weight = torch.randn(3, 1, 1, 9, generator=generator)
    whole = separable_scale_conv(x, weight, basis)
    monkeypatch.setattr("sesn.nn.separable.CACHE_BYTES", 1)
    assert chunk_size(5, 10, 1) == 1
    torch.testing.assert_close(separable_scale_conv(x, weight, basis), whole)


def test_chunk_size_fits_the_cache_but_amortises_the_kernels():
    assert chunk_size(32, 2**20, 2**20) == 16  # 16 MiB of 1 MiB samples
    assert chunk_size(128, 10 * 2**20, 220 * 2**20) == 22  # kernels re-read at most once per chunk
    assert chunk_size(8, 2**20, 2**20) == 8


def test_cost_rule_prefers_separable_for_large_kernels_and_direct_for_small_ones():
    toy = dict(batch=32, in_channels=1, in_scales=1, span=1, out_channels=16, n_scales=3, height=168, width=168)
    assert choose_path(**toy, size=49) == "separable"
    assert choose_path(**toy, size=3) == "direct"
    mnist = dict(batch=128, in_channels=32, in_scales=4, span=1, out_channels=63, n_scales=4, height=56, width=56)
    assert choose_path(**mnist, size=25) == "separable"
    # stride 4 cuts the direct work per sample 16-fold; the Fourier work stays

    def per_sample(stride):
        two, one = (direct_flops(batch, 1, 1, 1, 1, 64, 64, 9, stride=stride) for batch in (2, 1))
        return two - one

    assert per_sample(4) * 16 == per_sample(1)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_separable_path_on_cuda_matches_cpu():
    layer = seeded(ScaleConvHH, "separable", channels=(2, 3), scale_size=2)
    x = torch.randn(2, 2, 3, 20, 20, generator=torch.Generator().manual_seed(6))
    expected = layer(x)
    y = layer.cuda()(x.cuda())
    torch.testing.assert_close(y.cpu(), expected, rtol=0, atol=1e-5 * expected.abs().max().item())


@pytest.mark.parametrize(
    ("layer_type", "channels", "kwargs", "shape"),
    [
        (ScaleConvZ2H, (1, 3), {}, (3, 1, 17, 22)),  # one input channel: the whole-batch lifted max
        (ScaleConvZ2H, (1, 3), {"stride": 2, "bias": True}, (3, 1, 17, 22)),
        (ScaleConvZ2H, (1, 2), {}, (2, 1, 16, 30)),  # odd FFT length along W (45)
        (ScaleConvZ2H, (1, 2), {"basis": "B", "eff": 4, "stride": 3}, (5, 1, 19, 21)),
        (ScaleConvZ2H, (2, 3), {"bias": True}, (3, 2, 17, 22)),  # several channels: the max per chunk
        (ScaleConvHH, (2, 3), {"scale_size": 2}, (2, 2, 3, 15, 16)),
        (ScaleConvHH, (2, 2), {"basis": "B", "eff": 4, "stride": 3}, (2, 2, 3, 15, 30)),
    ],
)
def test_max_over_scales_inside_the_convolution_equals_the_projection_of_its_output(
    layer_type, channels, kwargs, shape, monkeypatch
):
    """float64, forward and every gradient (input, weights, scales), several
    chunks: the fused max against ScaleProjection("max") of the full output."""
    monkeypatch.setattr("sesn.nn.separable.CACHE_BYTES", 1)  # one sample per chunk
    layer = seeded(layer_type, "separable", channels=channels, **kwargs).double()
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(8)).requires_grad_()
    expected = ScaleProjection("max")(layer(x))
    y = projected(ScaleProjection("max"), layer, x)
    assert y.shape == expected.shape == (shape[0], channels[1], *expected.shape[-2:])
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-12 * expected.abs().max().item())
    upstream = torch.randn(expected.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    params = [x, *layer.parameters()]
    for got, want in zip(torch.autograd.grad(y, params, upstream), torch.autograd.grad(expected, params, upstream)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-11 * want.abs().max().item())


def test_the_fused_max_over_one_scale_is_the_output_itself():
    layer = ScaleConvZ2H(1, 2, InternalScales(mode="fixed", ns=1, scales=[1.3]), eff=2, path="separable").double()
    x = torch.randn(2, 1, 9, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)
    expected = layer(x)[:, :, 0]
    y = projected(ScaleProjection("max"), layer, x)
    torch.testing.assert_close(y, expected)
    torch.testing.assert_close(torch.autograd.grad(y.sum(), x)[0], torch.autograd.grad(expected.sum(), x)[0])


def test_the_fused_max_sends_a_tied_gradient_to_the_first_maximal_scale():
    """Two equal scales (ISR ≈ 1 is not allowed, so a fixed pair of equal
    scales): every output ties between them, and the projection's rule (the
    first maximal scale takes the gradient) must hold inside the convolution."""
    scales = InternalScales(mode="fixed", ns=2, scales=[1.0, 1.0]).double()
    layer = ScaleConvZ2H(1, 2, scales, eff=2, path="separable").double()
    x = torch.randn(2, 1, 9, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(10))
    captured = {}

    def keep(grad):
        captured["grad"] = grad

    full = layer(x)
    full.register_hook(keep)
    ScaleProjection("max")(full).sum().backward()
    assert torch.equal(captured["grad"][:, :, 1], torch.zeros_like(captured["grad"][:, :, 1]))
    expected = torch.autograd.grad(ScaleProjection("max")(layer(x)).sum(), layer.weight)
    got = torch.autograd.grad(projected(ScaleProjection("max"), layer, x).sum(), layer.weight)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("in_channels", [1, 2])
def test_gradgradcheck_through_the_fused_max(in_channels):
    scales = InternalScales(ns=2, sigma_basis=0.8, isr=1.5).double()
    layer = ScaleConvZ2H(in_channels, 2, scales, eff=2, k=2.0, path="separable").double()
    x = torch.randn(2, in_channels, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    names = ["scales.sigma", "scales.gamma", "weight"]

    def output(probe, *params):
        return functional_call(layer, dict(zip(names, params)), (probe,), {"max_over_scales": True})

    params = tuple(dict(layer.named_parameters())[n].detach().clone().requires_grad_() for n in names)
    assert torch.autograd.gradgradcheck(output, (x.clone().requires_grad_(), *params), fast_mode=True)


def test_chunks_on_a_gpu_bound_memory_instead_of_aiming_at_a_cache():
    toy = dict(sample_bytes=8 * 192 * 97 * (1 + 48), kernel_bytes=8 * 192 * 97 * 48)  # 168 px, 16 filters, 3 scales
    assert chunk_budget(torch.device("cpu")) == CACHE_BYTES
    assert chunk_budget(torch.device("cuda", 0)) == DEVICE_CHUNK_BYTES
    assert chunk_size(128, **toy) == 2
    on_gpu = chunk_size(128, **toy, budget=DEVICE_CHUNK_BYTES)
    assert on_gpu == 36 and on_gpu * toy["sample_bytes"] <= DEVICE_CHUNK_BYTES


GPU_LAYERS = [
    (ScaleConvZ2H, (1, 3), {}, (3, 1, 20, 21)),
    (ScaleConvZ2H, (2, 3), {"stride": 2, "bias": True}, (2, 2, 17, 22)),
    (ScaleConvHH, (2, 3), {"scale_size": 2}, (2, 2, 3, 19, 23)),
]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("max_over_scales", [False, True])
@pytest.mark.parametrize("path", ["direct", "separable"])
@pytest.mark.parametrize(("layer_type", "channels", "kwargs", "shape"), GPU_LAYERS)
def test_layers_on_cuda_match_cpu_in_value_and_every_gradient(
    layer_type, channels, kwargs, shape, path, max_over_scales
):
    """float64 on both devices: the output and the gradients in the input,
    the weights and both scale parameters."""
    outputs = {}
    for device in ("cpu", "cuda"):
        layer = seeded(layer_type, path, channels=channels, **kwargs).double().to(device)
        x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(12)).to(device)
        x.requires_grad_()
        y = layer(x, max_over_scales=max_over_scales)
        upstream = torch.randn(y.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(13))
        grads = torch.autograd.grad(y, [x, *layer.parameters()], upstream.to(device))
        outputs[device] = [t.detach().cpu() for t in (y, *grads)]
    for got, expected in zip(outputs["cuda"], outputs["cpu"]):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-10 * expected.abs().max().item())


def test_the_fused_max_without_gradients_equals_the_projection():
    """Under inference mode the max is taken without keeping the winning scales."""
    layer = seeded(ScaleConvZ2H, "separable", channels=(1, 3)).double()
    x = torch.randn(3, 1, 17, 22, dtype=torch.float64, generator=torch.Generator().manual_seed(14))
    with torch.inference_mode():
        expected = ScaleProjection("max")(layer(x))
        y = projected(ScaleProjection("max"), layer, x)
    assert y.grad_fn is None
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-12 * expected.abs().max().item())
