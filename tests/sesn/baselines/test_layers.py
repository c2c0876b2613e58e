"""Numerics of the baselines' layers, against references computed another way,
and the scale equivariance of those whose maths gives it (DSS, SEVF, SS-CNN)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sesn.baselines import dss, sevf, sicnn, siconvnet, sscnn
from sesn.nn.equivariance import check_equivariance, smooth_noise
from sesn.nn.scales import InternalScales


class WithScales(nn.Module):
    """``forward`` returning [B, C, S, H, W] whose scale axis check_equivariance
    reads from a fixed InternalScales holding ``values`` (the sizes of the
    filters the S responses stand for)."""

    def __init__(self, forward, values):
        super().__init__()
        self.fn = forward
        self.scales = InternalScales(ns=len(values), mode="fixed", scales=values)

    def forward(self, x):
        return self.fn(x)


# SiCNN: filters interpolated across scales


def test_sicnn_filters_at_scale_1_are_the_weights():
    weight = torch.randn(3, 2, 7, 7)
    assert torch.allclose(sicnn.rescale_kernels(weight, 1.0), weight, rtol=1e-6, atol=0)


def test_sicnn_upscales_by_nearest_neighbour_with_the_l1_norm_kept():
    weight = torch.randn(3, 2, 7, 7, dtype=torch.float64)
    blocks = np.kron(weight.numpy(), np.ones((1, 1, 3, 3)))  # each tap a 3×3 block: 21×21
    expected = blocks / 9  # renormalised to the original L1 norm
    assert sicnn.rescale_kernels(weight, 3.0).numpy() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("scale", [0.3, 0.45, 0.67])
def test_sicnn_downscaling_splats_each_tap_at_s_times_its_position(scale):
    a = sicnn.interpolation_matrix(scale).numpy()
    radius = (a.shape[0] - 1) // 2
    pixels = np.arange(-radius, radius + 1)
    assert a.sum(0) == pytest.approx(np.ones(7))  # every tap is spread in full
    assert pixels @ a == pytest.approx(scale * np.arange(-3, 4))  # ... centred on s·u
    assert (a >= 0).all() and (a[[0, -1]].sum(1) > 0).all()  # the grid is no larger than needed


def test_sicnn_kernel_sizes_follow_the_scales():
    sizes = [2 * sicnn.kernel_radius(s) + 1 for s in sicnn.SCALES]
    assert sizes == [3, 5, 7, 7, 11, 15, 23]  # 7·3.33 = 23 px: the largest, as in SESN's re-implementation


# SI-ConvNet: a pyramid of rescaled inputs


def test_siconvnet_zoom_is_a_centred_crop_of_the_bilinear_upscale():
    x = torch.randn(2, 3, 16, 16)
    full = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)  # 32×32
    assert torch.allclose(siconvnet.zoom(x, 2.0), full[..., 8:24, 8:24], atol=1e-5)


def test_siconvnet_zoom_out_is_the_bilinear_downscale_padded_with_zeros():
    x = smooth_noise(32, blur=2.0)  # zero near the border, where the two differ in edge handling
    small = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)  # 16×16
    assert torch.allclose(siconvnet.zoom(x, 0.5), F.pad(small, (8, 8, 8, 8)), atol=1e-5)


def test_siconvnet_layer_is_the_max_over_scales_of_one_convolution():
    layer = siconvnet.ScalePyramidConv(2, 3, [0.5, 1.0, 2.0])
    x = torch.randn(1, 2, 24, 24)
    conv = lambda t: F.conv2d(t, layer.weight, layer.bias, padding=3)  # noqa: E731
    expected = torch.maximum(
        torch.maximum(siconvnet.zoom(conv(siconvnet.zoom(x, 0.5)), 2.0), conv(x)),
        siconvnet.zoom(conv(siconvnet.zoom(x, 2.0)), 0.5),
    )
    assert torch.allclose(layer(x), expected, atol=1e-6)


# DSS: scale-space with dilation


def test_dss_level_variances_follow_sesn_settings():
    # levels 1 and 2 (base 2), input blur 0.25 px: t_1 = 0.25² · (2² − 1)
    assert dss.level_variances() == pytest.approx([0.0, 0.1875])


def test_dss_blur_is_lindebergs_discrete_gaussian():
    variance = dss.level_variances()[1]  # 0.1875 px², its taps cut at ±4 px
    taps = dss.discrete_gaussian(variance).double().numpy()
    n = np.arange(len(taps)) - len(taps) // 2
    # its Fourier series is exp(−t(1 − cos ω)): the discrete heat equation's kernel
    omega = np.linspace(0, np.pi, 9)
    series = (taps[None, :] * np.cos(omega[:, None] * n[None, :])).sum(1)
    assert series == pytest.approx(np.exp(-variance * (1 - np.cos(omega))), abs=1e-6)
    assert (n**2 * taps).sum() == pytest.approx(variance, rel=1e-4)  # less the tail beyond ±4 px


def test_dss_dilated_convolution_commutes_exactly_with_block_averaging():
    # the same image at both levels: level 1 of L·Φ(x) is exactly level 0 of Φ(L·x)
    conv = dss.DilatedScaleConv(2, 4)
    x = torch.randn(2, 2, 32, 32, dtype=torch.float64)
    conv = conv.double()
    lifted = lambda t: conv(torch.stack([t, t], dim=2))  # noqa: E731
    assert check_equivariance(WithScales(lifted, [1.0, 2.0]), x) == pytest.approx({0: 0.0}, abs=1e-20)


def test_dss_first_layer_is_scale_equivariant_on_band_limited_input():
    # Δ ≤ 1e-2 (3.8e-3 measured): the only difference left is level 1's blur of
    # σ = 0.43 px, which the block-averaged input at level 0 lacks.
    torch.manual_seed(0)
    block = nn.Sequential(dss.ScaleSpace(), dss.DilatedScaleConv(1, 8))
    errors = check_equivariance(WithScales(block, [1.0, 2.0]), smooth_noise(64, blur=1.5))
    assert list(errors) == [0] and errors[0] < 1e-2


# SEVF: max over the responses to rescaled inputs


def test_sevf_scales_and_layer_follow_sesn_settings():
    assert pytest.approx([1.26**k for k in range(-4, 4)]) == sevf.SCALES
    layer = sevf.ScaleMaxConv(2, 3)
    x = torch.randn(1, 2, 20, 20)
    responses = layer.responses(x)
    assert responses.shape == (1, 3, 8, 20, 20)
    # the response at scale 1 is the plain convolution
    assert torch.allclose(responses[:, :, 4], F.conv2d(x, layer.conv.weight, padding=3), atol=1e-6)
    assert torch.equal(layer(x), torch.relu(responses.amax(2)))


def test_sevf_responses_are_scale_equivariant_on_band_limited_input():
    # The response at s to L·x is L of the response at s/2 to x, up to the
    # bilinear resampling (no antialiasing) and its rounding to whole pixels:
    # Δ ≤ 0.05 on noise blurred by 2.5 px (≤ 0.02 measured; 0.12 at 1.5 px).
    torch.manual_seed(0)
    layer = sevf.ScaleMaxConv(1, 8)
    sizes = [1 / s for s in layer.scales]  # a filter applied to an input resized by s is 1/s as large
    errors = check_equivariance(WithScales(layer.responses, sizes), smooth_noise(64, blur=2.5))
    assert sorted(errors) == [3, 4, 5, 6, 7]  # the five scales s with s/2 among the scales
    assert max(errors.values()) < 0.05


# SS-CNN: log-radial harmonics, steered across scales


KAPPA = 2 * np.pi * np.array(sscnn.ORDERS) / np.log(7)  # radial frequencies on the 15×15 grid (R = 7)


def harmonic(kappa, axis, rows, cols):
    """ψ(r, φ) = exp(−d(φ, axis)²/2σ_φ²) · r⁻¹ · exp(i(κ log r + phase)), the
    published formula (NumPy, complex), at the points (rows, cols) px."""
    r, phi = np.hypot(rows, cols), np.arctan2(-rows, cols)
    turn = np.mod(phi - axis, np.pi)
    angular = np.exp(-(np.minimum(turn, np.pi - turn) ** 2) / (2 * sscnn.ANGULAR_WIDTH**2))
    return angular / r * np.exp(1j * (kappa * np.log(r) + sscnn.PHASE))


def basis_norm(kappa, axis):
    """‖ψ‖ over the pixels of the radius-7 disk, the centre counted as r = 1, φ = 0."""
    offsets = np.arange(-7, 8, dtype=float)
    rows, cols = np.meshgrid(offsets, offsets, indexing="ij")
    rows[7, 7] = 0.0
    cols[7, 7] = 1.0  # r = 1, φ = 0: the value the basis gives the centre
    inside = np.hypot(*np.meshgrid(offsets, offsets, indexing="ij")) <= 7
    return np.sqrt((np.abs(harmonic(kappa, axis, rows, cols)) ** 2 * inside).sum())


def test_sscnn_filters_at_every_scale_are_the_scaled_analytic_filter():
    # Steering the coefficients by e^(−iκ log s) must give Σ Re(c·ψ(x/s))/s at
    # every pixel but the centre (which the basis takes as r = 1, not as a
    # scaled point); the basis is normalised on the 15×15 grid and zero beyond
    # its radius of 7 px (the corners of the filters at radii 5, 6, 7).
    torch.manual_seed(0)
    layer = sscnn.ScaleSteerableConv(2, 3).double()
    coef = (layer.coef_real + 1j * layer.coef_imag).detach().numpy()  # [orders, O, I, axes]
    for index, scale in enumerate(layer.scales):
        radius = layer.radii[index]
        kernel = layer.kernel(index).detach().numpy()  # [3, 2, 2r+1, 2r+1]
        offsets = np.arange(-radius, radius + 1, dtype=float)
        rows, cols = np.meshgrid(offsets, offsets, indexing="ij")
        inside = np.hypot(rows, cols) <= 7
        centre = np.zeros_like(inside)
        centre[radius, radius] = True
        expected = np.zeros(kernel.shape)
        check = inside & ~centre
        for k, kappa in enumerate(KAPPA):
            for a, axis in enumerate(sscnn.AXES):
                psi = harmonic(kappa, axis, rows[check] / scale, cols[check] / scale) / basis_norm(kappa, axis)
                expected[..., check] += (coef[k, :, :, a, None] * psi).real / scale
        assert kernel[..., check] == pytest.approx(expected[..., check], rel=1e-5, abs=1e-8)  # basis stored in float32
        assert (kernel[..., ~inside] == 0).all()


def test_sscnn_radii_follow_table_7():
    assert [sscnn.radius_at(s) for s in sscnn.SCALES] == [3, 4, 5, 6, 7]
    assert [r / 3 for r in (3, 4, 5, 6, 7)] == pytest.approx([1.0, 1.33, 1.67, 2.0, 2.33], abs=0.005)
