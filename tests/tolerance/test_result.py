"""Every result object round-trips through to_dict() / from_dict(), and its JSON has no non-finite numbers."""

import json

import numpy as np
import pytest

from tolerance.distributions import make_distribution
from tolerance.errors_fit import fit_tau_from_errors, predicted_errors
from tolerance.errors_io import ModelErrors
from tolerance.fit import combined_fit, suggest, suggest_ns
from tolerance.result import CombinedFit, FitResult, NsScan, Suggestion, TauFromErrors


def reject(constant):
    raise AssertionError(f"{constant} in the JSON")


def round_trip(result, cls):
    text = json.dumps(result.to_dict(), allow_nan=False)
    back = cls.from_dict(json.loads(text, parse_constant=reject))
    assert back.to_dict() == result.to_dict()
    return back


@pytest.mark.parametrize(
    "dist",
    [
        make_distribution("loguniform", 1, 8),
        make_distribution("uniform", 0.5, 4),
        make_distribution("lognormal", 1, 16, std=0.7),
        make_distribution("truncnormal", 1, 9, std=3.0),
    ],
)
def test_suggestions_round_trip(dist):
    suggestion = suggest(dist, 3, isr=4.0, sigma_unit=1.5)
    back = round_trip(suggestion, Suggestion)
    assert back.dist.to_dict() == dist.to_dict() and back.fixed == ("tau", "isr")
    assert back.internal_scales == pytest.approx(suggestion.internal_scales)


def test_an_empirical_suggestion_round_trips_by_reading_its_file_again(tmp_path):
    path = tmp_path / "scales.txt"
    path.write_text("\n".join(str(1 + 0.07 * i) for i in range(100)))
    round_trip(suggest(make_distribution("empirical", file=path), 2), Suggestion)


def test_ns_scans_and_combined_fits_round_trip():
    scan = round_trip(suggest_ns(make_distribution("loguniform", 1, 4), ns_max=4), NsScan)
    assert [s.ns for s in scan.candidates] == [1, 2, 3, 4] and scan.chosen in scan.candidates
    dists = [make_distribution("loguniform", 1, 2), make_distribution("loguniform", 1, 4)]
    combined = round_trip(combined_fit(dists, 2), CombinedFit)
    assert isinstance(combined.fit, FitResult) and len(combined.suggestions) == 2


def test_tau_from_errors_round_trips_with_its_points_and_weights():
    scales = np.geomspace(0.5, 16, 20)
    models = [
        ModelErrors(
            {"model": name},
            internal,
            scales,
            predicted_errors(scales, internal, 0.5, 0.05, 0.6),
            n=np.full(scales.size, 500.0),
            sigma_unit=2.0,
        )
        for name, internal in (("a", np.array([1.0, 2.0, 4.0])), ("b", np.array([1.0, 4.0, 16.0])))
    ]
    back = round_trip(fit_tau_from_errors(models), TauFromErrors)
    assert back.models[1].n.tolist() == [500.0] * 20 and back.to_dict()["weighted"]


def test_a_not_identifiable_tau_has_no_standard_error_in_json():
    scales = np.geomspace(0.5, 16, 20)
    flat = [ModelErrors({"isr": isr}, np.array([1.0, isr]), scales, np.full(20, 0.1)) for isr in (2.0, 4.0)]
    result = fit_tau_from_errors(flat)
    assert not result.fit.success and "not identifiable" in result.fit.message
    assert round_trip(result, TauFromErrors).to_dict()["tau_stderr"] is None
