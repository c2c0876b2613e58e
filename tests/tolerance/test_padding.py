import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from tolerance.distributions import make_distribution
from tolerance.padding import PaddedDensity

BOUNDED = ("loguniform", "uniform", "truncnormal")


def padded_mass(padded):
    a, b = (math.log2(v) for v in padded.dist.bounds)
    pieces = [(-np.inf, a), (a, b), (b, np.inf)]
    return sum(integrate.quad(padded.pdf, lo, hi, limit=200)[0] for lo, hi in pieces)


@settings(deadline=None, max_examples=25)
@given(name=st.sampled_from(BOUNDED), lo=st.floats(0.1, 10.0), octaves=st.floats(0.1, 5.0), width=st.floats(0.05, 1.5))
def test_padded_density_integrates_to_one(name, lo, octaves, width):
    padded = PaddedDensity(make_distribution(name, lo, lo * 2**octaves), width)
    assert padded_mass(padded) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("name", BOUNDED)
def test_padded_density_is_continuous_at_the_bounds(name):
    padded = PaddedDensity(make_distribution(name, 1.0, 8.0), 0.4)
    for bound in (0.0, 3.0):
        left, right = padded.pdf(np.array([bound - 1e-9, bound + 1e-9]))
        assert left == pytest.approx(right, rel=1e-6)
        assert left > 0


def test_tails_are_half_normals_of_the_given_width():
    dist = make_distribution("loguniform", 1.0, 8.0)
    padded = PaddedDensity(dist, 0.5)
    at_bound, one_width_below, one_width_above = padded.pdf(np.array([0.0, -0.5, 3.5]))
    assert one_width_below / at_bound == pytest.approx(math.exp(-0.5))
    assert one_width_above / at_bound == pytest.approx(math.exp(-0.5))
    # inside, the shape is the data's, scaled down by the tails' extra mass 2 * (1/3) * 0.5 * sqrt(pi/2)
    assert at_bound == pytest.approx((1 / 3) / (1 + (1 / 3) * math.sqrt(2 * math.pi) * 0.5))


def test_unbounded_distributions_are_not_padded():
    dist = make_distribution("lognormal", 1.0, 16.0)
    x = np.linspace(-4, 8, 25)
    assert PaddedDensity(dist, 0.4).pdf(x) == pytest.approx(dist.pdf(x))


@pytest.mark.parametrize("width", [0, -0.4, float("nan"), 1e300])
def test_padding_width_must_be_positive(width):
    with pytest.raises(ValueError, match=r"padding=.* must be a finite number in \(0, 2\]"):
        PaddedDensity(make_distribution("loguniform", 1, 2), width)
