import numpy as np
import pytest
from scipy.optimize import rosen

from tolerance.optimise import multistart_nelder_mead, nelder_mead


def test_finds_the_minimum_of_the_rosenbrock_valley():
    point, value, _, evaluations, converged = nelder_mead(
        rosen,
        np.array([-1.2, 1.0]),
        np.full(2, -np.inf),
        np.full(2, 0.25),
        xatol=1e-8,
        fatol=1e-14,
        max_evaluations=4000,
    )
    assert converged and evaluations < 4000
    assert point == pytest.approx([1.0, 1.0], abs=1e-5) and value < 1e-10


def test_a_minimum_below_the_lower_bound_ends_on_the_bound():
    def bowl(p):
        return float((p[0] + 3.0) ** 2 + (p[1] - 2.0) ** 2)

    point, _ = multistart_nelder_mead(bowl, [[1.0, 0.0]], ["a", "b"], [-1.0, -10.0], [0.5, 0.5])
    assert point == pytest.approx([-1.0, 2.0], abs=1e-5)


def test_keeps_the_best_of_several_starts_and_counts_every_evaluation():
    calls = []

    def two_wells(p):
        calls.append(1)
        x = float(p[0])
        return (x * x - 1.0) ** 2 + 0.3 * x  # deeper well near x = -1

    point, result = multistart_nelder_mead(two_wells, [[2.0], [-2.0], [2.0]], ["x"], [-10.0], [0.1])
    assert point[0] == pytest.approx(-1.036, abs=1e-2)
    assert result.starts == 2  # the repeated start is skipped
    assert result.evaluations == len(calls) and result.success
    assert result.parameters == {"x": pytest.approx(point[0])}


def test_stops_at_the_evaluation_budget_and_says_so():
    _, _, _, evaluations, converged = nelder_mead(
        rosen, np.array([-1.2, 1.0]), np.full(2, -np.inf), np.full(2, 0.25), xatol=0, fatol=0, max_evaluations=50
    )
    assert not converged and evaluations <= 53  # one iteration past the budget at most
