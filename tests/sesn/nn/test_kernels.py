"""Kernel sizes that follow the scales but cannot explode, and a layer's kernels."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from scaletol.checks import InputError
from sesn.nn.basis import KERNEL_SIZE_LIMIT, BasisSpec, TruncationWarning, build_basis
from sesn.nn.layers import KernelSizeWarning, ScaleConvHH, ScaleConvZ2H
from sesn.nn.scales import InternalScales


def test_a_kernel_past_the_limit_is_an_input_error_naming_scale_and_size():
    sigma_max = 3e4  # σ_basis 1e4 with ISR 3
    with pytest.raises(InputError, match=r"σ_max=30000 px asks for a kernel of 240001 px"):
        BasisSpec().kernel_size(sigma_max)
    with pytest.raises(InputError, match="240001 px"):
        ScaleConvZ2H(1, 2, InternalScales(sigma_basis=1e4))
    largest = (KERNEL_SIZE_LIMIT - 1) / 2 / 4  # k·σ_max = (l - 1) / 2 exactly at the limit
    assert BasisSpec().kernel_size(largest) == KERNEL_SIZE_LIMIT
    with pytest.raises(InputError, match=str(KERNEL_SIZE_LIMIT + 2)):
        BasisSpec().kernel_size(largest + 0.01)


def test_a_scale_running_away_during_training_stops_before_the_basis_is_built():
    scales = InternalScales(ns=3, sigma_basis=2.0, isr=3.0)
    layer = ScaleConvZ2H(1, 2, scales)
    with torch.no_grad():
        scales.gamma.fill_(200.0)  # ISR 40001: σ_max 80 002 px
    with pytest.raises(InputError, match="σ_max=80002 px"):
        layer(torch.zeros(1, 1, 16, 16))


def test_max_kernel_caps_a_large_kernel_and_warns_once_that_equivariance_suffers():
    spec = BasisSpec(k=3.999, max_kernel=31)  # k unique to this test: the warning is once per spec
    with pytest.warns(TruncationWarning, match="max_kernel=31 truncates the 49-px kernels.*equivariance suffers"):
        basis = build_basis(spec, torch.tensor([2.0, 6.0]))
    assert basis.kernel_size == 31
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_basis(spec, torch.tensor([2.0, 6.0]))  # no second warning
        build_basis(BasisSpec(k=3.999, max_kernel=51), torch.tensor([2.0, 6.0]))  # 49 ≤ 51: nothing cut
    assert BasisSpec(max_kernel=31).kernel_size(3e4) == 31  # a cap avoids the limit
    with pytest.raises(InputError, match=f"max_kernel={KERNEL_SIZE_LIMIT + 2}"):
        BasisSpec(max_kernel=KERNEL_SIZE_LIMIT + 2)


def test_a_kernel_larger_than_its_input_warns_once_per_layer():
    layer = ScaleConvZ2H(1, 2, InternalScales(ns=3, sigma_basis=2.0, isr=3.0))  # 49 px
    with pytest.warns(KernelSizeWarning, match="49-px kernel .* exceeds the 40×60 input"):
        layer(torch.zeros(1, 1, 40, 60))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(torch.zeros(1, 1, 40, 60))
        ScaleConvZ2H(1, 2, InternalScales(ns=3, sigma_basis=2.0, isr=3.0))(torch.zeros(1, 1, 49, 49))


@pytest.mark.parametrize("scale_size", [1, 2])
def test_kernels_and_kernel_size_accessors(scale_size):
    scales = InternalScales(ns=3, sigma_basis=1.0, isr=2.0)
    lift = ScaleConvZ2H(2, 3, scales, eff=3)
    group = ScaleConvHH(3, 4, scales, eff=3, scale_size=scale_size)
    assert lift.kernel_size == 2 * int(np.ceil(4 * 2.0)) + 1 == 17
    assert lift.kernels().shape == (3, 2, 3, 17, 17)
    assert group.kernels().shape == (4, 3, scale_size, 3, 17, 17)
    # the output at scale i is the input convolved with kernels()[..., i, :, :]
    x = torch.randn(2, 2, 20, 20, generator=torch.Generator().manual_seed(0))
    y = lift(x)
    for i in range(3):
        expected = F.conv2d(x, lift.kernels()[:, :, i], padding=8)
        torch.testing.assert_close(y[:, :, i], expected, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        scales.gamma.fill_(2.0)  # ISR 5: σ_max 5 px
    assert lift.kernel_size == group.kernel_size == 41 and lift.kernels().shape[-1] == 41


def test_sesn_indexed_weights_give_sesn_kernels():
    """A weight on function f = 1 of an eff-3 basis A is order 1 along H."""
    scales = InternalScales(ns=1, sigma_basis=1.5, isr=1.0, mode="fixed")
    layer = ScaleConvZ2H(1, 1, scales, eff=3).double()
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0, 0, 1] = 1.0
    kernel = layer.kernels()[0, 0, 0].detach().numpy()
    x = np.arange(kernel.shape[0]) - kernel.shape[0] // 2
    envelope = np.exp(-(x**2) / (2 * 1.5**2))
    expected = np.outer(x / 1.5 * envelope, envelope)  # He_1 along rows, He_0 along columns
    np.testing.assert_allclose(kernel, expected / np.linalg.norm(expected), atol=1e-12)


def test_biases_start_at_zero():
    scales = InternalScales()
    assert torch.equal(ScaleConvZ2H(1, 4, scales, bias=True).bias, torch.zeros(4))
    assert torch.equal(ScaleConvHH(4, 5, scales, bias=True).bias, torch.zeros(5))


def test_layer_numbers_may_be_numpy_or_0d_tensors_and_scale_size_fits_the_scales():
    scales = InternalScales(ns=3, sigma_basis=1.0, isr=2.0)
    layer = ScaleConvHH(np.int64(2), torch.tensor(3), scales, scale_size=np.int64(3), eff=np.int64(3), k=np.float32(4))
    assert layer.weight.shape == (3, 2, 3, 9) and layer.kernel_size == 17
    with pytest.raises(InputError, match="scale_size=4 must be ≤ ns=3"):
        ScaleConvHH(2, 3, scales, scale_size=4)
    with pytest.raises(InputError, match="eff=2.5"):
        ScaleConvZ2H(1, 2, scales, eff=2.5)
