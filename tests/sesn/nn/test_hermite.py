import numpy as np
import pytest
import torch
from scipy.special import eval_hermitenorm

from sesn.nn.hermite import hermite_atoms, hermite_polynomials


def test_polynomials_match_scipy_in_float64():
    t = torch.linspace(-6, 6, 97, dtype=torch.float64)
    values = hermite_polynomials(t, 9)
    expected = np.stack([eval_hermitenorm(n, t.numpy()) for n in range(9)])
    np.testing.assert_allclose(values.numpy(), expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("n_orders", [1, 2, 5])
def test_polynomial_count_and_shape(n_orders):
    t = torch.zeros(4, 3)
    assert hermite_polynomials(t, n_orders).shape == (n_orders, 4, 3)


def test_atoms_match_the_scipy_formula_in_float32():
    sigma = torch.tensor([[0.7, 1.5, 3.0], [2.2, 4.5, 6.0]])
    atoms = hermite_atoms(sigma, 6, 25)
    assert atoms.shape == (2, 3, 6, 25) and atoms.dtype == torch.float32
    x = np.arange(25) - 12.0
    for index in np.ndindex(2, 3):
        s = float(sigma[index])
        for n in range(6):
            expected = np.exp(-(x**2) / (2 * s**2)) / s * eval_hermitenorm(n, x / s)
            scale = np.abs(expected).max()
            np.testing.assert_allclose(atoms[index][n].numpy(), expected, rtol=0, atol=2e-6 * scale)


def test_atoms_are_differentiable_in_sigma():
    sigma = torch.tensor([1.3, 2.9], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: hermite_atoms(s, 4, 11), (sigma,))


@pytest.mark.parametrize("size", [0, 4, -3])
def test_even_or_empty_size_is_rejected(size):
    with pytest.raises(ValueError, match=f"size={size}"):
        hermite_atoms(torch.tensor([1.0]), 3, size)


def test_zero_orders_is_rejected():
    with pytest.raises(ValueError, match="n_orders=0"):
        hermite_polynomials(torch.zeros(3), 0)
