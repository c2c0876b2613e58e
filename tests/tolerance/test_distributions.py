import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from tolerance.distributions import NAMES, make_distribution, make_distributions
from tolerance.empirical import Empirical

PARAMETRIC = ("loguniform", "uniform", "lognormal", "truncnormal")
ranges = st.tuples(st.floats(0.05, 20.0), st.floats(0.1, 5.0)).map(lambda t: (t[0], t[0] * 2 ** t[1]))


def total_mass(dist):
    """∫ pdf dx over the real line, split at the bounds so quad sees each smooth piece."""
    a, b = dist.log2_extent()
    if dist.bounds is None:  # beyond 3× its extent a log-normal's mass is far below 1e-6
        width = b - a
        return integrate.quad(dist.pdf, a - width, b + width, limit=200)[0]
    return integrate.quad(dist.pdf, a, b, limit=200)[0]


def mass_below(dist, scale):
    """P(s <= scale) from the log2 density."""
    a = math.log2(dist.bounds[0])
    return integrate.quad(dist.pdf, a, math.log2(scale), limit=200)[0]


@settings(deadline=None, max_examples=25)
@given(name=st.sampled_from(PARAMETRIC), scale_range=ranges)
def test_every_parametric_density_integrates_to_one(name, scale_range):
    assert total_mass(make_distribution(name, *scale_range)) == pytest.approx(1.0, abs=1e-6)


@settings(deadline=None, max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 300))
def test_empirical_density_integrates_to_one(seed, n):
    scales = np.exp2(np.random.default_rng(seed).normal(1.0, 0.7, size=n))
    if np.unique(scales).size < 2:
        return
    dist = Empirical(scales)  # linear between tabulated points: quad needs those kinks
    kinks = dist.table_x[1:-1]
    mass = integrate.quad(dist.pdf, *dist.log2_extent(), points=kinks, limit=kinks.size + 50)[0]
    assert mass == pytest.approx(1.0, abs=1e-6)


def test_bounded_densities_vanish_outside_their_bounds():
    for name in ("loguniform", "uniform", "truncnormal"):
        dist = make_distribution(name, 1.0, 8.0)
        assert np.all(dist.pdf(np.array([-0.01, 3.01, -5.0, 9.0])) == 0)


def test_loguniform_is_flat_on_log2_axis():
    dist = make_distribution("loguniform", 1.0, 8.0)
    assert dist.pdf(np.array([0.0, 1.0, 2.9])) == pytest.approx([1 / 3] * 3)


@pytest.mark.parametrize("t", [1.5, 3.0, 7.9])
def test_uniform_is_uniform_in_scale_not_in_log_scale(t):
    dist = make_distribution("uniform", 1.0, 8.0)
    assert mass_below(dist, t) == pytest.approx((t - 1.0) / 7.0, abs=1e-7)


@pytest.mark.parametrize("t", [1.2, 2.5, 5.0])
def test_truncnormal_matches_scipy_truncnorm(t):
    dist = make_distribution("truncnormal", 1.0, 8.0)
    mean, std = 4.5, 7.0 / 4
    oracle = stats.truncnorm((1.0 - mean) / std, (8.0 - mean) / std, loc=mean, scale=std)
    assert mass_below(dist, t) == pytest.approx(oracle.cdf(t), abs=1e-7)


def test_lognormal_is_normal_on_log2_axis_centred_on_the_range():
    dist = make_distribution("lognormal", 1.0, 16.0)
    x = np.linspace(-3, 7, 11)
    assert dist.pdf(x) == pytest.approx(stats.norm.pdf(x, loc=2.0, scale=1.0))
    assert dist.bounds is None
    assert make_distribution("lognormal", 1.0, 16.0, std=0.5).pdf(np.array([2.0]))[0] == pytest.approx(
        stats.norm.pdf(0, scale=0.5)
    )


@pytest.mark.parametrize("name", PARAMETRIC)
def test_samples_are_deterministic_and_follow_the_density(name):
    dist = make_distribution(name, 1.0, 8.0)
    first = dist.sample(4000, np.random.default_rng(7))
    assert np.array_equal(first, dist.sample(4000, np.random.default_rng(7)))
    assert np.all(first > 0)
    if dist.bounds is not None:
        assert first.min() >= 1.0 and first.max() <= 8.0
    grid = np.linspace(math.log2(first.min()), math.log2(first.max()), 2001)
    cdf = integrate.cumulative_trapezoid(dist.pdf(grid), grid, initial=0)
    cdf = cdf / cdf[-1]
    assert stats.kstest(np.log2(first), lambda v: np.interp(v, grid, cdf)).pvalue > 1e-3


def test_empirical_samples_come_from_the_observations():
    observed = np.array([1.0, 2.0, 2.5, 4.0])
    drawn = Empirical(observed).sample(50, np.random.default_rng(0))
    assert set(drawn) <= set(observed)


def test_to_dict_names_the_distribution_and_its_parameters():
    assert make_distribution("loguniform", 1, 8).to_dict() == {"name": "loguniform", "lo": 1.0, "hi": 8.0}
    assert make_distribution("lognormal", 1, 16).to_dict() == {"name": "lognormal", "mean_log2": 2.0, "std_log2": 1.0}
    assert make_distribution("truncnormal", 1, 9).to_dict()["std"] == 2.0


@pytest.mark.parametrize("name", PARAMETRIC)
@pytest.mark.parametrize(
    ("lo", "hi", "bad"),
    [
        (8, 1, "8"),
        (1, 1, "1"),
        (0, 1, "0"),
        (-1, 2, "-1"),
        (1, float("nan"), "nan"),
        (1, float("inf"), "inf"),
        (None, 2, "lo"),
        ("a", 2, "'a'"),
    ],
)
def test_bad_ranges_raise_value_errors_naming_the_value(name, lo, hi, bad):
    with pytest.raises(ValueError, match=bad):
        make_distribution(name, lo, hi)


def test_unknown_name_is_named():
    with pytest.raises(ValueError, match="'gamma'"):
        make_distribution("gamma", 1, 2)
    assert "empirical" in NAMES


def test_one_name_applies_to_every_range():
    dists = make_distributions(["uniform"], [(1, 2), (1, 4)])
    assert [d.name for d in dists] == ["uniform", "uniform"]
    assert [d.bounds for d in dists] == [(1.0, 2.0), (1.0, 4.0)]


def test_names_pair_with_ranges_in_order():
    dists = make_distributions(["uniform", "loguniform"], [(1, 2), (1, 4)])
    assert [(d.name, d.bounds) for d in dists] == [("uniform", (1.0, 2.0)), ("loguniform", (1.0, 4.0))]


@pytest.mark.parametrize(
    ("names", "ranges", "message"),
    [
        ([], [(1, 2)], "no distribution"),
        (["uniform"], [], "needs a scale range"),
        (["uniform", "loguniform", "uniform"], [(1, 2), (1, 4)], "3 distributions but 2 ranges"),
        (["empirical"], [(1, 2)], "without --range"),
    ],
)
def test_mismatched_names_and_ranges_are_explained(names, ranges, message):
    with pytest.raises(ValueError, match=message):
        make_distributions(names, ranges)


def test_scale_files_apply_to_empirical_only():
    with pytest.raises(ValueError, match="'boxes.csv': --file and --column apply to --dist empirical only"):
        make_distributions(["loguniform"], [(1, 2)], file="boxes.csv")
