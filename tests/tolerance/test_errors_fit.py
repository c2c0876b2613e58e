import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tolerance.errors_fit import coverage, fit_tau_from_errors, predicted_errors
from tolerance.errors_io import ModelErrors

DATA_SCALES = np.geomspace(2**-0.5, 2**3.5, 45)  # the thesis's per-scale evaluation grid


def synthetic_models(tau, noise, seed, isrs=(1.5, 3.0, 6.0)):
    """Errors from the error model itself with known τ, plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    models = []
    for i, isr in enumerate(isrs):
        scales = np.array([1.0, isr**0.5, isr])
        floor, gain = 0.02 + 0.01 * i, 0.8 - 0.1 * i
        errors = predicted_errors(DATA_SCALES, scales, tau, floor, gain) + rng.normal(0, noise, DATA_SCALES.size)
        models.append(ModelErrors({"isr": isr}, scales, DATA_SCALES, errors))
    return models


def test_coverage_is_one_at_internal_scales_and_a_normal_shape_for_one_scale():
    assert coverage(np.array([1.0, 4.0]), np.array([1.0, 4.0]), 0.5) == pytest.approx([1.0, 1.0])
    one_tau_away = coverage(np.array([2**0.5]), np.array([1.0]), 0.5)
    assert one_tau_away == pytest.approx([math.exp(-0.5)])
    assert coverage(np.array([2.0**10]), np.array([1.0, 2.0]), 0.5) == pytest.approx([0.0], abs=1e-12)


def test_two_scales_cover_unless_both_miss():
    # data scale 2^0.5 lies 0.5 octave above scale 1 and 1.5 octaves below scale 4
    g1, g2 = math.exp(-0.5 * (0.5 / 0.6) ** 2), math.exp(-0.5 * (1.5 / 0.6) ** 2)
    assert coverage(np.array([2**0.5]), np.array([1.0, 4.0]), 0.6) == pytest.approx([1 - (1 - g1) * (1 - g2)])


@settings(deadline=None, max_examples=10)
@given(tau=st.floats(0.25, 1.2), seed=st.integers(0, 2**32 - 1))
def test_tau_from_synthetic_errors_is_recovered(tau, seed):
    result = fit_tau_from_errors(synthetic_models(tau, noise=0.005, seed=seed))
    assert result.fit.success
    assert result.tau == pytest.approx(tau, abs=max(5 * result.tau_stderr, 0.01))
    assert 0 < result.tau_stderr < 0.05
    assert result.floors == pytest.approx([0.02, 0.03, 0.04], abs=0.02)
    assert result.gains == pytest.approx([0.8, 0.7, 0.6], abs=0.05)


def test_standard_error_grows_with_the_noise():
    quiet = fit_tau_from_errors(synthetic_models(0.6, noise=0.002, seed=1))
    noisy = fit_tau_from_errors(synthetic_models(0.6, noise=0.02, seed=1))
    assert noisy.tau_stderr == pytest.approx(10 * quiet.tau_stderr, rel=0.5)
    assert quiet.rms == pytest.approx(0.002, rel=0.3)


def test_result_reports_every_model_with_c_ref_and_isr():
    result = fit_tau_from_errors(synthetic_models(0.5, noise=0.005, seed=2))
    inputs = result.to_dict()["inputs"]
    assert [item["isr"] for item in inputs] == pytest.approx([1.5, 3.0, 6.0])
    assert [item["c_ref"] for item in inputs] == pytest.approx([1.0, 1.0, 1.0])
    report = result.report()
    assert f"tau = {result.tau:.4g} +- {result.tau_stderr:.4g}" in report
    assert report.count("isr=") == 3


def test_models_need_three_distinct_data_scales():
    model = ModelErrors({"seed": 0}, np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="at least 3"):
        fit_tau_from_errors([model])
    with pytest.raises(ValueError, match="no models"):
        fit_tau_from_errors([])
