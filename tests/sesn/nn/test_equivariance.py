"""Scale equivariance of the scale convolutions, measured as in SESN (Sosnovik
et al. 2020): Δ = ‖L Φ(f) − Φ(L f)‖² / ‖L Φ(f)‖², with L a downscaling by 2.

Downscaling the input by 2 must move the response of internal scale i+1 to
scale i when S_{i+1} = 2·S_i, so we compare Φ(L f) at index i with L Φ(f) at
index i+1. The input is white noise blurred by a Gaussian (σ = 1.5 px) inside a
smooth window: band-limited, so a 2×2 average is an accurate downscaling, and
zero far from the border, so the zero padding of the convolution never cuts
off a response. What remains is the sampling of the kernels on the pixel grid.

Bound: with basis A the smallest scale (1.5 px) resolves every atom up to order
4, and the measured Δ is ≤ 2.4·10⁻³ per layer (a ReLU between layers adds the
high frequencies that dominate it); we assert Δ < 10⁻², i.e. 1 % of the output
energy. Misplacing the scale axis or dropping the 1/σ amplitude of the atoms
gives Δ ≥ 0.25 (checked below), so the bound separates right from wrong by
more than an order of magnitude. Basis B adds sub-scales σ/m^j down to 0.44 px
that the grid cannot resolve, so there it is asserted for index i ≥ 1 only.
"""

import pytest
import torch
import torch.nn.functional as F

from scaletol.checks import InputError
from sesn.nn.equivariance import check_equivariance, smooth_noise
from sesn.nn.layers import ScaleConvHH, ScaleConvZ2H, ScaleProjection
from sesn.nn.scales import InternalScales

BOUND = 1e-2
SIZE = 128


def smooth_input(generator) -> torch.Tensor:
    """[2, 1, SIZE, SIZE]: Gaussian-blurred noise (σ 1.5 px) in a window of radius ~SIZE/8."""
    noise = torch.randn(2, 1, SIZE, SIZE, generator=generator)
    offsets = torch.arange(-6, 7, dtype=torch.float32)
    gauss = torch.exp(-(offsets**2) / (2 * 1.5**2))
    gauss = gauss / gauss.sum()
    blurred = F.conv2d(noise, gauss[None, None, None, :], padding=(0, 6))
    blurred = F.conv2d(blurred, gauss[None, None, :, None], padding=(6, 0))
    centre = torch.arange(SIZE) - (SIZE - 1) / 2
    radius = (centre[:, None] ** 2 + centre[None, :] ** 2).sqrt()
    return blurred * torch.exp(-0.5 * (radius / (SIZE / 8)) ** 4)


def downscale(y: torch.Tensor) -> torch.Tensor:
    """Average 2×2 blocks of the last two axes."""
    lead = y.shape[:-2]
    pooled = F.avg_pool2d(y.reshape(-1, 1, *y.shape[-2:]), 2)
    return pooled.reshape(*lead, *pooled.shape[-2:])


def delta(of_downscaled: torch.Tensor, downscaled: torch.Tensor) -> float:
    return float((of_downscaled - downscaled).pow(2).sum() / downscaled.pow(2).sum())


def seeded(layer, generator):
    """The layer with weights drawn from ``generator`` (He-scaled normal)."""
    with torch.no_grad():
        fan_in = layer.weight[0].numel()
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * (2 / fan_in) ** 0.5)
    return layer


def layer_errors(basis, eff):
    """Δ per layer and scale index for Z2H → ReLU → HH → ReLU → HH(scale_size 2)."""
    generator = torch.Generator().manual_seed(0)
    scales = InternalScales(ns=3, sigma_basis=1.5, isr=4.0, mode="fixed")  # 1.5, 3, 6 px
    layers = [
        seeded(ScaleConvZ2H(1, 4, scales, basis=basis, eff=eff), generator),
        seeded(ScaleConvHH(4, 4, scales, basis=basis, eff=eff), generator),
        seeded(ScaleConvHH(4, 4, scales, basis=basis, eff=eff, scale_size=2), generator),
    ]
    f = smooth_input(generator)
    errors = []
    with torch.no_grad():
        a, b = f, downscale(f)
        for depth, layer in enumerate(layers):
            a, b = layer(a), layer(b)
            # scale_size 2 makes the top input index reach past the largest scale
            indices = [0, 1] if depth < 2 else [0]
            errors.append({i: delta(b[:, :, i], downscale(a[:, :, i + 1])) for i in indices})
            a, b = torch.relu(a), torch.relu(b)
    return errors


def test_basis_a_is_scale_equivariant_in_every_layer():
    errors = layer_errors("A", 5)
    for per_index in errors:
        assert all(error < BOUND for error in per_index.values()), errors


def test_basis_b_is_scale_equivariant_above_the_smallest_scale():
    errors = layer_errors("B", 7)
    assert errors[0][1] < BOUND and errors[1][1] < BOUND, errors


def test_the_bound_rejects_a_misplaced_scale_axis_or_amplitude():
    generator = torch.Generator().manual_seed(0)
    scales = InternalScales(ns=3, sigma_basis=1.5, isr=4.0, mode="fixed")
    layer = seeded(ScaleConvZ2H(1, 4, scales), generator)
    f = smooth_input(generator)
    with torch.no_grad():
        a, b = layer(f), layer(downscale(f))
    assert delta(b[:, :, 1], downscale(a[:, :, 1])) > 0.25  # same index: no shift
    assert delta(b[:, :, 0], 2 * downscale(a[:, :, 1])) > 0.2  # amplitude off by 2


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_equivariance_on_cuda():
    generator = torch.Generator().manual_seed(0)
    scales = InternalScales(ns=3, sigma_basis=1.5, isr=4.0, mode="fixed").cuda()
    layer = seeded(ScaleConvZ2H(1, 4, scales), generator).cuda()
    f = smooth_input(generator).cuda()
    with torch.no_grad():
        a, b = layer(f), layer(downscale(f))
    assert delta(b[:, :, 0], downscale(a[:, :, 1])) < BOUND


def test_check_equivariance_reports_the_measure_above_per_scale():
    generator = torch.Generator().manual_seed(0)
    scales = InternalScales(ns=3, sigma_basis=1.5, isr=4.0, mode="fixed")
    layer = seeded(ScaleConvZ2H(1, 4, scales), generator)
    f = smooth_input(generator)
    with torch.no_grad():
        a, b = layer(f), layer(downscale(f))
    expected = {i: delta(b[:, :, i], downscale(a[:, :, i + 1])) for i in (0, 1)}
    errors = check_equivariance(layer, f)
    assert errors.keys() == expected.keys()
    for i in expected:
        assert errors[i] == pytest.approx(expected[i], rel=1e-5)
        assert errors[i] < BOUND


def test_check_equivariance_finds_scales_a_factor_apart():
    scales = InternalScales(ns=5, sigma_basis=1.5, isr=4.0, mode="fixed")  # 1.5, 2.12, 3, 4.24, 6
    layer = ScaleConvZ2H(1, 2, scales)
    x = smooth_noise(64)
    assert sorted(check_equivariance(layer, x, factor=2)) == [0, 1, 2]
    assert sorted(check_equivariance(layer, x, factor=4)) == [0]
    with pytest.raises(InputError, match="factor=3"):
        check_equivariance(layer, x, factor=3)
    with pytest.raises(InputError, match="factor=2"):
        check_equivariance(layer, x[..., :63, :63])


def test_check_equivariance_of_outputs_without_a_scale_axis_is_one_number():
    x = smooth_noise(64)
    # exact cases: L commutes with the identity, and block averages keep the mean
    assert check_equivariance(torch.nn.Identity(), x) == pytest.approx(0, abs=1e-12)
    assert check_equivariance(Lambda(lambda y: y.mean(dim=(2, 3))), x) == pytest.approx(0, abs=1e-10)
    # a fixed second derivative is not: on an input downscaled by 2 it responds about 4× as strongly
    second = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        second.weight.copy_(torch.tensor([[0.0, 1.0, 0.0], [0.0, -2.0, 0.0], [0.0, 1.0, 0.0]]))
    assert check_equivariance(second, x) > 1
    scales = InternalScales(ns=3, sigma_basis=1.5, isr=4.0, mode="fixed")
    model = torch.nn.Sequential(ScaleConvZ2H(1, 3, scales), ScaleProjection("max"))
    model.train()
    assert isinstance(check_equivariance(model, x), float)
    assert model.training  # its mode is restored


class Lambda(torch.nn.Module):
    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, y):
        return self.function(y)
