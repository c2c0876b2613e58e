import numpy as np
import pytest
import torch

from scaletol.checks import InputError, check_choice, check_int, check_number, check_positive, check_range


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_int("ns", 100_000_000, low=1, high=64), "ns=100000000 must be an integer in [1, 64]"),
        (lambda: check_int("ns", 2.5, low=1), "ns=2.5 must be an integer ≥ 1"),
        (lambda: check_int("ns", True, low=1), "ns=True must be an integer ≥ 1"),
        (lambda: check_positive("tau", -1), "tau=-1 must be a finite number > 0"),
        (lambda: check_positive("tau", float("nan")), "tau=nan must be a finite number > 0"),
        (lambda: check_number("x", "3"), "x='3' must be a finite number"),
        (lambda: check_number("p", 1, low=0, high=1, high_open=True), "p=1 must be a finite number in [0, 1)"),
        (lambda: check_range("range", (3, 1)), "range=(3, 1) must be a pair (lo, hi) with lo < hi"),
        (lambda: check_range("range", (1, 2, 3)), "range=(1, 2, 3) must be a pair (lo, hi)"),
        (lambda: check_choice("mode", "no", ("isr", "ratio")), "mode='no' must be one of 'isr', 'ratio'"),
    ],
)
def test_a_bad_value_is_named_with_what_it_must_be(call, message):
    with pytest.raises(InputError) as caught:
        call()
    assert str(caught.value) == message


def test_numpy_and_zero_dim_tensor_numbers_are_numbers():
    assert check_int("ns", np.int64(3), low=1) == 3
    assert check_int("ns", torch.tensor(3), low=1) == 3
    assert check_positive("sigma", np.float32(1.5)) == 1.5
    assert check_positive("sigma", torch.tensor(2.0)) == 2.0
    assert check_range("range", np.array([1.0, 8.0])) == (1.0, 8.0)


def test_input_errors_are_value_errors():
    assert issubclass(InputError, ValueError)


def test_a_long_value_is_shortened_in_the_message():
    with pytest.raises(InputError) as caught:
        check_number("x", "y" * 500)
    assert len(str(caught.value)) < 120
