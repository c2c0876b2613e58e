import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from sesn.nn.layers import ScaleBatchNorm, ScaleConv1x1, ScaleConvHH, ScaleConvZ2H, ScaleProjection
from sesn.nn.scales import InternalScales


def small_scales(**kwargs):
    return InternalScales(ns=3, sigma_basis=0.8, isr=2.0, **kwargs)


def kernels_at(layer, weight):
    """Kernel at every scale, [S, C_out, C_in(·j), l, l], from the dense basis."""
    basis = layer.dense_basis()
    return torch.einsum("o...f,fsyx->so...yx", weight, basis).flatten(2, -3)


def test_z2h_output_scale_i_is_the_convolution_with_the_kernel_at_scale_i():
    generator = torch.Generator().manual_seed(0)
    layer = ScaleConvZ2H(2, 3, small_scales(), eff=3, bias=True)
    x = torch.randn(2, 2, 13, 11, generator=generator)
    y = layer(x)
    assert y.shape == (2, 3, 3, 13, 11)
    for i, kernel in enumerate(kernels_at(layer, layer.weight)):
        expected = F.conv2d(x, kernel, layer.bias, padding=kernel.shape[-1] // 2)
        torch.testing.assert_close(y[:, :, i], expected, rtol=1e-5, atol=1e-5)


def test_hh_mixes_the_next_scales_and_pads_past_the_largest():
    generator = torch.Generator().manual_seed(1)
    layer = ScaleConvHH(2, 3, small_scales(), scale_size=2, basis="B", eff=3)
    x = torch.randn(2, 2, 3, 9, 10, generator=generator)
    y = layer(x)
    assert y.shape == (2, 3, 3, 9, 10)
    basis = layer.dense_basis()
    size = basis.shape[-1]
    for i in range(3):
        expected = 0
        for j in range(2):
            if i + j < 3:
                kernel = torch.einsum("oif,fyx->oiyx", layer.weight[:, :, j], basis[:, i])
                expected = expected + F.conv2d(x[:, :, i + j], kernel, padding=size // 2)
        torch.testing.assert_close(y[:, :, i], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_strided_shapes_and_dtypes(dtype):
    scales = small_scales().to(dtype)
    lift = ScaleConvZ2H(1, 4, scales, stride=2).to(dtype)
    group = ScaleConvHH(4, 5, scales, stride=2).to(dtype)
    y = group(lift(torch.zeros(2, 1, 15, 16, dtype=dtype)))
    assert y.shape == (2, 5, 3, 4, 4) and y.dtype == dtype


def test_one_by_one_scale_conv_mixes_neighbouring_scales():
    generator = torch.Generator().manual_seed(2)
    layer = ScaleConv1x1(3, 2, scale_size=2, bias=True)
    x = torch.randn(2, 3, 4, 5, 5, generator=generator)
    y = layer(x)
    padded = torch.cat([x, torch.zeros_like(x[:, :, :1])], dim=2)
    expected = sum(torch.einsum("oi,bishw->boshw", layer.weight[:, :, j], padded[:, :, j : j + 4]) for j in range(2))
    torch.testing.assert_close(y, expected + layer.bias[None, :, None, None, None])


def test_projection_pools_the_scale_axis():
    x = torch.arange(24.0).reshape(1, 2, 3, 2, 2)
    torch.testing.assert_close(ScaleProjection()(x), x[:, :, 2])
    torch.testing.assert_close(ScaleProjection("mean")(x), x[:, :, 1])


def test_max_projection_sends_each_gradient_to_one_maximal_scale():
    x = torch.randn(2, 3, 4, 5, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    x[0, 0, :, 0, 0] = 7.0  # a four-way tie: the first scale gets it
    x.requires_grad_()
    grad = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    ScaleProjection()(x).backward(grad)
    reference = x.detach().clone().requires_grad_()
    reference.max(dim=2).values.backward(grad)
    untied = torch.ones_like(grad, dtype=torch.bool)
    untied[0, 0, 0, 0] = False
    torch.testing.assert_close(x.grad.movedim(2, -1)[untied], reference.grad.movedim(2, -1)[untied], rtol=0, atol=0)
    assert x.grad[0, 0, :, 0, 0].tolist() == [grad[0, 0, 0, 0].item(), 0.0, 0.0, 0.0]


def test_batch_norm_treats_scale_like_space():
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(4, 3, 2, 5, 5, generator=generator) * 3 + torch.tensor([1.0, -2.0, 5.0])[:, None, None, None]
    y = ScaleBatchNorm(3)(x)
    torch.testing.assert_close(y.mean(dim=(0, 2, 3, 4)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=(0, 2, 3, 4), unbiased=False), torch.ones(3), atol=1e-3, rtol=0)


def test_layers_share_one_basis_per_forward_pass():
    scales = small_scales()
    lift, group = ScaleConvZ2H(1, 2, scales, eff=3), ScaleConvHH(2, 2, scales, eff=3)
    y = group(lift(torch.ones(1, 1, 8, 8)))
    first = lift.dense_basis()
    assert first is group.dense_basis()
    y.sum().backward()
    assert scales.sigma.grad is not None and scales.gamma.grad is not None
    group(lift(torch.ones(1, 1, 8, 8))).sum().backward()  # the cached basis survives
    with torch.no_grad():
        scales.gamma.add_(0.1)  # an optimiser step
    assert lift.dense_basis() is not first


def test_gradcheck_through_a_layer_in_sigma_gamma_and_weight():
    scales = small_scales().double()
    layer = ScaleConvHH(2, 2, scales, scale_size=2, eff=2, k=2.0).double()
    names = ["scales.sigma", "scales.gamma", "weight"]
    x = torch.randn(1, 2, 3, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))

    def output(sigma, gamma, weight):
        return functional_call(layer, dict(zip(names, (sigma, gamma, weight))), (x,))

    params = tuple(dict(layer.named_parameters())[n].detach().clone().requires_grad_() for n in names)
    assert torch.autograd.gradcheck(output, params, fast_mode=True)


def test_extra_repr_is_readable():
    scales = InternalScales(ns=3, sigma_basis=2.0, isr=3.0)
    text = ScaleConvZ2H(1, 16, scales).extra_repr()
    assert text == "1, 16, basis=A, eff=5, ns=3, kernel_size=49, k=4.0, stride=1, bias=False, path=auto"
    text = ScaleConvHH(32, 63, scales, scale_size=2, basis="B", eff=7, max_kernel=31).extra_repr()
    assert "basis=B" in text and "max_kernel=31" in text and "kernel_size=31" in text and "scale_size=2" in text
    assert "scale_size=2" in ScaleConv1x1(2, 3, scale_size=2).extra_repr()
    assert ScaleProjection("mean").extra_repr() == "mode=mean"


@pytest.mark.parametrize(
    ("make", "shown"),
    [
        (lambda s: ScaleConvZ2H(0, 2, s), "in_channels=0"),
        (lambda s: ScaleConvZ2H(1, 2, s, basis="C"), "'C'"),
        (lambda s: ScaleConvZ2H(1, 2, s, stride=0), "stride=0"),
        (lambda s: ScaleConvHH(1, 2, s, path="fft"), "'fft'"),
        (lambda s: ScaleConvHH(1, 2, s, scale_size=0), "scale_size=0"),
        (lambda s: ScaleConvHH(1, 2, s, max_kernel=8), "max_kernel=8"),
        (lambda s: ScaleConvZ2H(1, 2, "s"), "scales='s'"),
        (lambda s: ScaleConv1x1(1, -1), "out_channels=-1"),
        (lambda s: ScaleProjection("min"), "'min'"),
        (lambda s: ScaleBatchNorm(0), "num_channels=0"),
    ],
)
def test_invalid_layer_settings_name_the_value(make, shown):
    with pytest.raises(ValueError, match=shown):
        make(small_scales())


def test_wrong_input_shapes_are_rejected():
    scales = small_scales()
    with pytest.raises(ValueError, match=r"\(1, 2, 8, 8\)"):
        ScaleConvZ2H(1, 2, scales)(torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match=r"\(1, 2, 4, 8, 8\)"):
        ScaleConvHH(2, 2, scales)(torch.zeros(1, 2, 4, 8, 8))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_layers_run_on_cuda_and_agree_with_cpu():
    scales = small_scales()
    lift, group = ScaleConvZ2H(1, 2, scales, eff=3), ScaleConvHH(2, 2, scales, eff=3)
    x = torch.randn(2, 1, 12, 12, generator=torch.Generator().manual_seed(5))
    expected = group(lift(x))
    lift.cuda(), group.cuda()
    y = group(lift(x.cuda()))
    y.sum().backward()
    torch.testing.assert_close(y.cpu(), expected, rtol=1e-4, atol=1e-4)
    assert scales.gamma.grad is not None
