import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scaletol.checks import InputError  # noqa: E402
from tolerance.bootstrap import bootstrap  # noqa: E402
from tolerance.distributions import make_distribution  # noqa: E402
from tolerance.empirical import Empirical  # noqa: E402
from tolerance.fit import suggest  # noqa: E402
from tolerance.plot import figure_with_axes, plot_observed  # noqa: E402

LOGUNIFORM = make_distribution("loguniform", 1, 8)


def observed(n, seed=0):
    return Empirical(LOGUNIFORM.sample(n, np.random.default_rng(seed)))


def test_a_start_point_reaches_the_same_optimum_as_the_default_starts():
    default = suggest(LOGUNIFORM, 3)
    started = suggest(LOGUNIFORM, 3, start=(1.6, 3.0))
    assert started.fit.starts == 1
    assert math.log2(started.c_ref / default.c_ref) == pytest.approx(0, abs=1e-4)
    assert math.log2(started.isr / default.isr) == pytest.approx(0, abs=1e-4)


def test_bootstrap_is_deterministic_for_a_seed():
    fitted = suggest(observed(50), 3)
    first, again = bootstrap(fitted, 30, seed=5), bootstrap(fitted, 30, seed=5)
    assert first.to_dict() == again.to_dict()
    assert bootstrap(fitted, 30, seed=6).to_dict() != first.to_dict()


def test_intervals_are_percentiles_of_the_refits_and_narrow_with_more_observations():
    few = bootstrap(suggest(observed(30), 3), 60, seed=0)
    many = bootstrap(suggest(observed(3000), 3), 60, seed=0)
    for name in ("c_ref", "isr", "sigma_basis"):
        assert few.interval(name) == pytest.approx(tuple(np.percentile(few.values[name], [2.5, 97.5])))
        assert np.log2(np.divide(*few.interval(name)[::-1])) > 2 * np.log2(np.divide(*many.interval(name)[::-1]))
    assert few.values["sigma_basis"] == pytest.approx(2.0 * few.values["c_ref"])


def test_with_many_observations_the_interval_holds_the_distributions_own_suggestion():
    truth = suggest(LOGUNIFORM, 3)
    intervals = bootstrap(suggest(observed(2000, seed=2), 3), 60, seed=1)
    low, high = intervals.interval("isr")
    assert low < truth.isr < high
    low, high = intervals.interval("c_ref")
    assert low < truth.c_ref < high


def test_given_parameters_stay_given():
    intervals = bootstrap(suggest(observed(80), 3, isr=4.0), 25)
    assert intervals.interval("isr") == pytest.approx((4.0, 4.0))
    assert intervals.to_dict()["isr"] == pytest.approx([4.0, 4.0])


def test_report_lists_estimate_and_interval():
    fitted = suggest(observed(50), 3)
    intervals = bootstrap(fitted, 25)
    report = intervals.report()
    assert report.startswith("bootstrap: 25 resamples of the 50 observations (seed 0), 95 % percentile intervals")
    row = next(line for line in report.splitlines() if line.startswith("c_ref"))
    assert row.split()[1] == f"{fitted.c_ref:.4g}"


@pytest.mark.parametrize(("resamples", "message"), [(5, "resamples=5"), (10**6, "resamples=1000000"), (2.5, "2.5")])
def test_bad_resample_counts_are_input_errors(resamples, message):
    with pytest.raises(InputError, match=message):
        bootstrap(suggest(observed(30), 3), resamples)


def test_parametric_distributions_have_no_observations_to_resample():
    with pytest.raises(InputError, match="dist='loguniform' must be 'empirical'"):
        bootstrap(suggest(LOGUNIFORM, 3), 30)


def test_plot_observed_draws_the_histogram_under_the_fit():
    dist = observed(200)
    fitted = suggest(dist, 3)
    _, axes = figure_with_axes(1)
    ax = plot_observed(fitted, axes[0])
    assert ax is axes[0]
    histogram = ax.patches[0]
    assert histogram.get_label() == "observed (histogram)"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels.count("tolerance mixture") == 1
    assert "200 observations" in ax.get_title()
    values, edges = histogram.get_data().values, histogram.get_data().edges
    assert np.diff(edges) == pytest.approx(0.25)  # quarter octaves, on the log2 axis
    assert np.sum(values) * 0.25 == pytest.approx(1.0)  # a density per octave, like the curves
    assert ax.get_ylim()[1] >= values.max()
