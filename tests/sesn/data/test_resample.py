import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from sesn.data.resample import keys_kernel, rescale


def blob(size: int, sigma: float, offset=(0.0, 0.0), dtype=torch.float64) -> torch.Tensor:
    """A Gaussian blob [size, size] centred `offset` pixels (row, col) from the image centre."""
    coords = torch.arange(size, dtype=dtype) + 0.5 - size / 2
    rows = torch.exp(-((coords - offset[0]) ** 2) / (2 * sigma**2))
    cols = torch.exp(-((coords - offset[1]) ** 2) / (2 * sigma**2))
    return rows[:, None] * cols[None, :]


def centroid(image: torch.Tensor) -> tuple[float, float]:
    """(row, col) centre of mass, pixels from the image centre."""
    coords = torch.arange(image.shape[-1], dtype=image.dtype) + 0.5 - image.shape[-1] / 2
    mass = image.sum()
    return float((image.sum(1) * coords).sum() / mass), float((image.sum(0) * coords).sum() / mass)


def framed_noise(batch: int, size: int, margin: int) -> torch.Tensor:
    """Random images with a zero frame `margin` pixels wide."""
    images = torch.zeros(batch, size, size, dtype=torch.float64)
    inner = size - 2 * margin
    images[:, margin:-margin, margin:-margin] = torch.rand(
        batch, inner, inner, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    return images


def test_keys_kernel_interpolates_and_has_support_two():
    t = torch.tensor([0.0, 1.0, -1.0, 2.0, -2.0, 2.5, -3.0])
    assert keys_kernel(t).tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("scale", [2.0, 3.0])
def test_magnifying_matches_torch_bicubic(scale):
    # torch's antialiased bicubic uses the same Keys kernel (a = -0.5); the
    # zero frame keeps its edge handling out of the comparison.
    images = framed_noise(3, 28, margin=4)
    canvas = int(28 * scale)
    ours = rescale(images, torch.full((3,), scale), canvas)
    torch_result = F.interpolate(
        images[:, None], size=(canvas, canvas), mode="bicubic", align_corners=False, antialias=True
    )[:, 0]
    torch.testing.assert_close(ours, torch_result, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale", [0.5, 0.25])
def test_shrinking_matches_torch_antialiased_bicubic(scale):
    images = framed_noise(3, 48, margin=16)
    canvas = int(48 * scale)
    ours = rescale(images, torch.full((3,), scale), canvas)
    torch_result = F.interpolate(
        images[:, None], size=(canvas, canvas), mode="bicubic", align_corners=False, antialias=True
    )[:, 0]
    torch.testing.assert_close(ours, torch_result, rtol=0, atol=1e-12)


def test_scale_one_on_a_larger_canvas_is_zero_padding():
    images = torch.rand(4, 28, 28)
    out = rescale(images, torch.ones(4), 168)
    torch.testing.assert_close(out, F.pad(images, (70, 70, 70, 70)), rtol=0, atol=0)


def test_each_image_gets_its_own_scale():
    images = framed_noise(3, 28, margin=4)
    scales = torch.tensor([0.5, 1.7, 4.0], dtype=torch.float64)
    together = rescale(images, scales, 64)
    for b in range(3):
        alone = rescale(images[b : b + 1], scales[b : b + 1], 64)
        torch.testing.assert_close(together[b], alone[0], rtol=0, atol=1e-12)


def test_a_constant_image_stays_constant_where_it_covers_the_canvas():
    out = rescale(torch.ones(1, 28, 28, dtype=torch.float64), torch.tensor([2.0]), 28)
    torch.testing.assert_close(out, torch.ones(1, 28, 28, dtype=torch.float64), rtol=0, atol=1e-12)


@settings(deadline=None, max_examples=15)
@given(scale=st.floats(0.5, 4.0), offset=st.tuples(st.floats(-3, 3), st.floats(-3, 3)))
def test_ink_grows_with_the_area_and_moves_with_the_centre(scale, offset):
    # Magnifying by s about the centre multiplies the ink by s² and moves a
    # point `offset` pixels from the centre to s · offset.
    image = blob(28, sigma=2.5, offset=offset)
    out = rescale(image[None], torch.tensor([scale]), 160)[0]
    assert float(out.sum()) == pytest.approx(scale**2 * float(image.sum()), rel=1e-2)
    row, col = centroid(out)
    assert row == pytest.approx(scale * offset[0], abs=2e-2 * max(1, scale))
    assert col == pytest.approx(scale * offset[1], abs=2e-2 * max(1, scale))


def test_follows_the_dtype_of_the_batch():
    out = rescale(torch.rand(2, 28, 28, dtype=torch.float64), torch.tensor([1.0, 2.0]), 40)
    assert out.dtype == torch.float64 and out.shape == (2, 40, 40)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_non_positive_or_non_finite_scales_are_named(bad):
    with pytest.raises(ValueError, match=str(bad)):
        rescale(torch.rand(2, 28, 28), torch.tensor([1.0, bad]), 56)


def test_one_scale_per_image_is_required():
    with pytest.raises(ValueError, match="one scale per image"):
        rescale(torch.rand(2, 28, 28), torch.tensor([1.0, 2.0, 3.0]), 56)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_the_device_of_the_batch():
    images = torch.rand(8, 28, 28)
    scales = torch.linspace(0.5, 6, 8)
    out = rescale(images.cuda(), scales.cuda(), 168)
    assert out.is_cuda
    torch.testing.assert_close(out.cpu(), rescale(images, scales, 168), rtol=1e-4, atol=1e-5)
