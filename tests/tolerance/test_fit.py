import math
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tolerance.fit as fit_module
from scaletol.checks import InputError
from tolerance.distributions import make_distribution
from tolerance.fit import combined_fit, suggest, suggest_ns

# Thesis §4.1.1 / Fig. 5: log-uniform [1, 2^1.5], [1, 2^2.25], [1, 2^3], N_S = 3.
THESIS_TAU = 0.459
THESIS_C_REF_ISR = [(0.981, 2.893), (1.045, 4.319), (1.125, 6.320)]
THESIS_UPPER_OCTAVES = (1.5, 2.25, 3.0)


def loguniform(lo, octaves):
    return make_distribution("loguniform", lo, lo * 2**octaves)


@pytest.fixture(scope="module", params=["model-data", "data-model"])
def thesis_fit(request):
    dists = [loguniform(1.0, b) for b in THESIS_UPPER_OCTAVES]
    return combined_fit(dists, 3, direction=request.param)


def test_combined_fit_reproduces_the_thesis(thesis_fit):
    """Both KL directions land within the thesis's stated tolerances."""
    assert thesis_fit.fit.success
    assert thesis_fit.tau == pytest.approx(THESIS_TAU, abs=0.01)
    for suggestion, (c_ref, isr) in zip(thesis_fit.suggestions, THESIS_C_REF_ISR):
        assert suggestion.c_ref == pytest.approx(c_ref, abs=0.05)
        assert suggestion.isr == pytest.approx(isr, abs=0.05)
        assert suggestion.tau == thesis_fit.tau


def test_combined_fit_kl_is_the_sum_of_the_distributions_kls(thesis_fit):
    assert thesis_fit.fit.objective == pytest.approx(sum(s.kl for s in thesis_fit.suggestions))
    to_dict = thesis_fit.to_dict()
    assert [item["isr"] for item in to_dict["inputs"]] == [s.isr for s in thesis_fit.suggestions]


def test_combined_fit_with_one_scale_fits_c_ref_and_tau_only():
    result = combined_fit([loguniform(1.0, 2.0), loguniform(1.0, 3.0)], 1)
    assert [s.isr for s in result.suggestions] == [1.0, 1.0]
    assert len(result.fit.parameters) == 3  # two log2 c_ref and tau
    # a single normal must stretch over 2-3 octaves of data: far wider than 0.459
    assert result.tau > 0.6
    narrow, wide = (math.log2(s.c_ref) for s in result.suggestions)
    assert 0 < narrow < 2 and 0 < wide < 3 and wide > narrow


@settings(deadline=None, max_examples=15)
@given(
    lo=st.floats(0.3, 3.0),
    octaves=st.floats(1.0, 4.0),
    factor=st.floats(0.1, 10.0),
    name=st.sampled_from(["loguniform", "uniform", "truncnormal"]),
)
def test_scaling_the_data_scales_c_ref_and_sigma_basis_and_keeps_isr(lo, octaves, factor, name):
    hi = lo * 2**octaves
    base = suggest(make_distribution(name, lo, hi), 3)
    scaled = suggest(make_distribution(name, lo * factor, hi * factor), 3)
    assert scaled.c_ref == pytest.approx(factor * base.c_ref, rel=2e-3)
    assert scaled.sigma_basis == pytest.approx(factor * base.sigma_basis, rel=2e-3)
    assert scaled.isr == pytest.approx(base.isr, rel=2e-3)
    assert scaled.kl == pytest.approx(base.kl, rel=1e-3, abs=1e-6)


@settings(deadline=None, max_examples=15)
@given(lo=st.floats(0.2, 5.0), octaves=st.floats(0.5, 5.0), ns=st.integers(1, 5))
def test_loguniform_internal_scales_are_centred_geometrically_on_the_range(lo, octaves, ns):
    """The padded log-uniform density is symmetric on the log2 axis; only the grid is not
    (1 octave below, 2 above), which moves the centre by at most a few hundredths of an octave."""
    suggestion = suggest(loguniform(lo, octaves), ns)
    centre = np.log2(suggestion.internal_scales).mean()
    assert centre == pytest.approx(math.log2(lo) + octaves / 2, abs=0.03)


@settings(deadline=None, max_examples=15)
@given(octaves=st.floats(1.0, 4.5), wider_by=st.floats(0.25, 1.5), ns=st.integers(2, 4))
def test_isr_grows_with_the_width_of_the_range(octaves, wider_by, ns):
    narrow = suggest(loguniform(1.0, octaves), ns)
    wide = suggest(loguniform(1.0, octaves + wider_by), ns)
    assert wide.isr > narrow.isr


def test_narrow_data_pins_isr_to_its_bound():
    suggestion = suggest(loguniform(1.0, 0.2), 3)
    assert suggestion.isr == pytest.approx(fit_module.MIN_ISR)
    assert suggestion.at_bound == ("isr",)


def test_no_fit_ever_starts_at_isr_one(monkeypatch):
    """ISR = 1 is a saddle of the KL (its gradient in ISR vanishes by symmetry)."""
    seen = []

    def recording(objective, starts, names, *args, **kwargs):
        seen.extend(dict(zip(names, start)) for start in starts)
        return real(objective, starts, names, *args, **kwargs)

    real = fit_module.multistart_nelder_mead
    monkeypatch.setattr(fit_module, "multistart_nelder_mead", recording)
    suggest(loguniform(1.0, 0.1), 3)
    suggest(loguniform(1.0, 3.0), 2)
    combined_fit([loguniform(1.0, 0.1), loguniform(1.0, 3.0)], 3)
    isr_starts = [2**value for start in seen for name, value in start.items() if "isr" in name]
    assert isr_starts and min(isr_starts) > fit_module.MIN_ISR


def test_given_isr_and_c_ref_are_kept():
    dist = loguniform(0.6, math.log2(2.0 / 0.6))
    fixed_isr = suggest(dist, 4, isr=2.0)
    assert fixed_isr.isr == pytest.approx(2.0) and fixed_isr.fixed == ("tau", "isr")
    fixed_c_ref = suggest(dist, 3, c_ref=0.7)
    assert fixed_c_ref.c_ref == pytest.approx(0.7)
    both = suggest(dist, 3, isr=2.0, c_ref=0.7)
    assert both.fit is None and both.internal_scales == pytest.approx([0.7, 0.7 * 2**0.5, 1.4])
    free = suggest(dist, 4)
    assert free.kl <= fixed_isr.kl + 1e-9  # freeing a parameter never fits worse


def test_sigma_basis_is_sigma_unit_times_c_ref():
    suggestion = suggest(loguniform(1.0, 3.0), 3, sigma_unit=1.5)
    assert suggestion.sigma_basis == pytest.approx(1.5 * suggestion.c_ref)
    assert suggestion.to_dict()["internal_scales_px"] == pytest.approx(1.5 * suggestion.internal_scales)


def test_both_kl_directions_give_similar_suggestions():
    dist = loguniform(1.0, 3.0)
    forward, reverse = suggest(dist, 3), suggest(dist, 3, direction="data-model")
    assert reverse.isr == pytest.approx(forward.isr, rel=0.05)
    assert reverse.c_ref == pytest.approx(forward.c_ref, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ns": 0}, "ns=0 must be an integer in [1, 16]"),
        ({"ns": -3}, "ns=-3 "),
        ({"ns": 10**8}, "ns=100000000 "),
        ({"tau": -1.0}, "tau=-1.0 must be a finite number in [0.02, 4]"),
        ({"tau": 1e9}, "tau=1000000000.0 "),
        ({"sigma_unit": 0}, "sigma_unit=0 "),
        ({"isr": 0.5}, "isr=0.5 must be a finite number in [1, 10000]"),
        ({"c_ref": -2.0}, "c_ref=-2.0 must be a finite number in [0.0001, 10000]"),
        ({"ns": 1, "isr": 2.0}, "needs ns >= 2"),
        ({"direction": "up"}, "kl_direction='up' must be one of"),
        ({"padding": 0}, "padding=0 "),
        ({"padding": 1e300}, "padding=1e+300 must be a finite number in (0, 2]"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(InputError, match=re.escape(message)):
        suggest(loguniform(1.0, 3.0), **kwargs)


def test_auto_ns_picks_the_smallest_ns_within_tolerance_of_the_best():
    scan = suggest_ns(loguniform(1.0, 3.0))
    kls = {s.ns: s.kl for s in scan.candidates}
    assert sorted(kls) == list(range(1, 9))
    within = [ns for ns, kl in kls.items() if kl <= min(kls.values()) + scan.tolerance]
    assert scan.chosen.ns == min(within)
    strict = suggest_ns(loguniform(1.0, 3.0), tolerance=0.0)
    assert strict.chosen.kl == min(kls.values())


def test_auto_ns_never_decreases_as_the_data_widens():
    chosen = [suggest_ns(loguniform(1.0, octaves)).chosen.ns for octaves in (0.5, 2.0, 3.5, 5.0)]
    assert chosen == sorted(chosen) and chosen[0] < chosen[-1]


def test_auto_ns_with_fixed_isr_starts_at_two_scales():
    scan = suggest_ns(loguniform(1.0, 2.0), isr=3.0, ns_max=4)
    assert [s.ns for s in scan.candidates] == [2, 3, 4]
    assert all(s.isr == pytest.approx(3.0) for s in scan.candidates)


def test_wider_fitting_grids_keep_the_thesis_result_within_its_tolerance():
    """The default grid (1 octave below, 2 above) is the thesis's; a grid long enough that no
    tail is cut fits a slightly narrower tolerance (it no longer profits from dropped tails)."""
    dists = [loguniform(1.0, b) for b in THESIS_UPPER_OCTAVES]
    wide = combined_fit(dists, 3, margins=(3.0, 3.0))
    default = combined_fit(dists, 3)
    assert wide.tau < default.tau
    assert wide.tau == pytest.approx(THESIS_TAU, abs=0.01)
    for suggestion, (c_ref, isr) in zip(wide.suggestions, THESIS_C_REF_ISR):
        assert (suggestion.c_ref, suggestion.isr) == pytest.approx((c_ref, isr), abs=0.05)


def test_combined_fit_minimises_the_sum_of_each_distributions_own_best_kl():
    """The profiled τ is the minimum of τ ↦ Σ min KL, each minimum found by `suggest` at that τ."""
    dists = [loguniform(1.0, 1.0), loguniform(0.5, 2.0), loguniform(2.0, 4.0)]
    result = combined_fit(dists, 3)

    def profile(tau):
        return sum(suggest(dist, 3, tau=tau).kl for dist in dists)

    at_optimum = profile(result.tau)
    assert at_optimum == pytest.approx(result.fit.objective, rel=1e-6)
    assert at_optimum < profile(result.tau - 0.01) and at_optimum < profile(result.tau + 0.01)
    for dist, fitted in zip(dists, result.suggestions):
        own = suggest(dist, 3, tau=result.tau)
        assert (fitted.c_ref, fitted.isr) == pytest.approx((own.c_ref, own.isr), rel=1e-4)


def test_combined_fit_cost_grows_linearly_with_the_number_of_distributions():
    def evaluations_per_distribution(k):
        dists = [loguniform(1.0, 1.0 + 3.0 * i / (k - 1)) for i in range(k)]
        return combined_fit(dists, 3).fit.evaluations / k

    assert evaluations_per_distribution(12) < 1.5 * evaluations_per_distribution(3)


def test_tau_on_the_bound_of_its_search_range_is_not_a_success():
    """One scale for 20 octaves of log-uniform data: only the widest tolerance comes close."""
    result = combined_fit([loguniform(0.001, 20.0)], 1)
    assert result.tau == pytest.approx(fit_module.MAX_TAU)
    assert not result.fit.success and "bound" in result.fit.message
    assert "tau" in result.suggestions[0].at_bound


def test_suggest_never_imports_scipy():
    """SciPy costs about 0.3 s of start-up; `tolcli suggest` must not pay it."""
    code = (
        "import sys\n"
        "from cli.main import main\n"
        "sys.argv = ['tolcli', 'suggest', '--dist', 'loguniform', '--range', '1', '8', '--ns', 'auto', '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'), file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stderr.strip().splitlines()[-1] == "[]"
