import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from tolerance.mixture import component_pdfs, internal_scales, mixture_pdf


def test_internal_scales_are_geometric_from_c_ref_to_c_ref_times_isr():
    assert internal_scales(2.0, 4.0, 3) == pytest.approx([2.0, 4.0, 8.0])
    assert internal_scales(1.0, 8.0, 4) == pytest.approx([1.0, 2.0, 4.0, 8.0])
    assert internal_scales(1.5, 3.0, 1) == pytest.approx([1.5])


@settings(deadline=None, max_examples=30)
@given(c_ref=st.floats(0.1, 10), isr=st.floats(1.0, 50), ns=st.integers(1, 8), tau=st.floats(0.05, 2.0))
def test_mixture_integrates_to_one_and_its_components_sum_to_it(c_ref, isr, ns, tau):
    scales = internal_scales(c_ref, isr, ns)
    lo, hi = np.log2(scales[0]) - 12 * tau, np.log2(scales[-1]) + 12 * tau
    mass = integrate.quad(
        lambda x: mixture_pdf(np.array(x), scales, tau), lo, hi, points=list(np.log2(scales)), limit=400
    )[0]
    assert mass == pytest.approx(1.0, abs=1e-6)
    x = np.linspace(lo, hi, 101)
    assert component_pdfs(x, scales, tau).sum(axis=0) == pytest.approx(mixture_pdf(x, scales, tau))


def test_mixture_is_the_average_of_normals_on_log2_axis():
    x = np.linspace(-2, 5, 50)
    expected = np.mean([stats.norm.pdf(x, loc=c, scale=0.459) for c in (0.0, 1.5, 3.0)], axis=0)
    assert mixture_pdf(x, internal_scales(1.0, 8.0, 3), 0.459) == pytest.approx(expected)


@pytest.mark.parametrize("ns", [0, -3, 2.5, True, "3"])
def test_bad_numbers_of_scales_are_named(ns):
    with pytest.raises(ValueError, match=repr(ns).replace("(", r"\(")):
        internal_scales(1.0, 2.0, ns)


@pytest.mark.parametrize(
    ("c_ref", "isr", "message"),
    [(0, 2, "c_ref=0 "), (1, 0.5, r"isr=0.5 must be a finite number ≥ 1"), (1, float("nan"), "isr=nan ")],
)
def test_bad_scale_parameters_are_named(c_ref, isr, message):
    with pytest.raises(ValueError, match=message):
        internal_scales(c_ref, isr, 3)


def test_tau_must_be_positive():
    with pytest.raises(ValueError, match="tau"):
        mixture_pdf(np.zeros(3), [1.0], -1.0)
