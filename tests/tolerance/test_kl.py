import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from tolerance.kl import directed_kl, kl_divergence

weights = arrays(np.float64, st.integers(2, 50), elements=st.floats(1e-6, 1e3))


@settings(deadline=None, max_examples=60)
@given(p=weights, seed=st.integers(0, 2**32 - 1))
def test_kl_is_non_negative_and_zero_for_identical_inputs(p, seed):
    q = np.random.default_rng(seed).uniform(1e-6, 1e3, size=p.size)
    assert kl_divergence(p, q) >= 0
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    assert kl_divergence(p, 7.5 * p) == pytest.approx(0.0, abs=1e-12)  # normalised first


@pytest.mark.parametrize(("m1", "s1", "m2", "s2"), [(0, 1, 0.5, 1), (0, 0.5, 1, 1.5), (2, 1, -1, 0.7)])
def test_grid_kl_of_two_normals_matches_the_closed_form(m1, s1, m2, s2):
    x = np.linspace(-15, 15, 20001)
    p, q = stats.norm.pdf(x, m1, s1), stats.norm.pdf(x, m2, s2)
    closed_form = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    assert kl_divergence(p, q) == pytest.approx(closed_form, rel=1e-6)


def test_direction_chooses_the_order():
    model, data = np.array([0.2, 0.8]), np.array([0.5, 0.5])
    assert directed_kl(model, data, "model-data") == pytest.approx(kl_divergence(model, data))
    assert directed_kl(model, data, "data-model") == pytest.approx(kl_divergence(data, model))
    assert directed_kl(model, data, "model-data") != pytest.approx(directed_kl(model, data, "data-model"))


def test_kl_is_infinite_where_q_vanishes_under_p():
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf


@pytest.mark.parametrize(
    ("p", "q", "message"),
    [([1, 2], [1, 2, 3], "same shape"), ([-1, 2], [1, 2], "non-negative"), ([0, 0], [1, 2], "positive sum")],
)
def test_bad_inputs_are_rejected(p, q, message):
    with pytest.raises(ValueError, match=message):
        kl_divergence(p, q)


def test_unknown_direction_is_named():
    with pytest.raises(ValueError, match="'sideways'"):
        directed_kl(np.ones(2), np.ones(2), "sideways")


@settings(deadline=None, max_examples=30)
@given(p=weights, seed=st.integers(0, 2**32 - 1))
def test_kl_matches_scipys_relative_entropy(p, seed):
    from scipy.special import rel_entr

    q = np.random.default_rng(seed).uniform(1e-6, 1e3, size=p.size)
    expected = rel_entr(p / p.sum(), q / q.sum()).sum()
    assert kl_divergence(p, q) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("direction", ["model-data", "data-model"])
@pytest.mark.parametrize("name", ["loguniform", "truncnormal", "lognormal"])
def test_the_fitting_grids_kl_is_the_kl_of_the_two_densities(name, direction):
    from tolerance.distributions import make_distribution
    from tolerance.grid import DENSITY_FLOOR, FitTarget
    from tolerance.mixture import internal_scales, mixture_pdf

    target = FitTarget(make_distribution(name, 1.0, 8.0))
    scales = internal_scales(1.2, 5.0, 3)
    model = np.maximum(mixture_pdf(target.x, scales, 0.4), DENSITY_FLOOR)
    assert target.kl(scales, 0.4, direction) == pytest.approx(directed_kl(model, target.data, direction), rel=1e-10)
