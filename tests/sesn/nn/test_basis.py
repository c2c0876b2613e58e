import math

import numpy as np
import pytest
import torch
from numpy.polynomial.hermite_e import hermeval

from sesn.nn.basis import BasisSpec, build_basis
from sesn.nn.scales import InternalScales


def reference_functions(kind, eff, mult):
    """(sub-scale exponent j, n_H, n_W) of each function as SESN defines them
    (Sosnovik et al. 2020, ses_basis.py): ``order_y, order_x = np.indices(...)``,
    the first spatial axis (H) takes order_x and the second (W) order_y."""
    if kind == "A":
        order_y, order_x = np.indices((eff, eff))
        return [(0, int(h), int(w)) for h, w in zip(order_x.ravel(), order_y.ravel())]
    order_y, order_x = np.indices((5, 5))
    mask = order_y + order_x <= 4
    per_sub_scale = list(zip(order_x[mask].tolist(), order_y[mask].tolist()))
    functions = []
    j = 0
    while len(functions) < eff * eff:
        functions += [(j, h, w) for h, w in per_sub_scale]
        j += 1
    return functions[: eff * eff]


def reference_basis(kind, eff, scales, size, mult=1.5):
    """[F, S, size, size] built pixel by pixel with numpy's He_n (hermite_e)."""

    def atom(n, sigma, x):
        return np.exp(-(x**2) / (2 * sigma**2)) / sigma * hermeval(x / sigma, [0] * n + [1])

    x = np.arange(size) - size // 2
    functions = reference_functions(kind, eff, mult)
    basis = np.zeros((len(functions), len(scales), size, size))
    for i, s in enumerate(scales):
        half = int(size * s / max(scales)) // 2
        inside = np.abs(x) <= half
        for f, (j, n_h, n_w) in enumerate(functions):
            sub = s / mult**j
            basis[f, i] = np.outer(atom(n_h, sub, x) * inside, atom(n_w, sub, x) * inside)
    smallest = int(np.argmin(scales))
    norms = np.sqrt((basis[:, smallest] ** 2).sum(axis=(1, 2)))
    return basis / norms[:, None, None, None]


def test_sesn_index_convention_of_basis_a():
    """f has order f mod eff along H (rows) and f div eff along W."""
    eff = 3
    basis = build_basis(BasisSpec("A", eff), torch.tensor([1.5], dtype=torch.float64)).dense()[:, 0].numpy()
    x = np.arange(basis.shape[-1]) - basis.shape[-1] // 2
    for f in range(eff * eff):
        n_h, n_w = f % eff, f // eff
        column = hermeval(x / 1.5, [0] * n_h + [1]) * np.exp(-(x**2) / 4.5)  # along H
        row = hermeval(x / 1.5, [0] * n_w + [1]) * np.exp(-(x**2) / 4.5)  # along W
        expected = np.outer(column, row)
        np.testing.assert_allclose(basis[f], expected / np.linalg.norm(expected), atol=1e-12)
    np.testing.assert_allclose(basis[1], basis[3].T, atol=1e-12)  # (1, 0) and (0, 1)
    # order 1 along H: odd when the rows are flipped, even when the columns are
    np.testing.assert_allclose(basis[1][::-1, :], -basis[1], atol=1e-12)
    np.testing.assert_allclose(basis[1][:, ::-1], basis[1], atol=1e-12)


@pytest.mark.parametrize("eff", [4, 7])
def test_sesn_index_convention_of_basis_b(eff):
    layout = BasisSpec("B", eff).layout
    got = [(layout.sub_scale[r], layout.order[r], layout.order[c]) for r, c in zip(layout.rows, layout.cols)]
    written_out = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (0, 1), (1, 1), (2, 1), (3, 1), (0, 2), (1, 2), (2, 2)]
    written_out += [(0, 3), (1, 3), (0, 4)]
    expected = [(j, h, w) for j in range(4) for h, w in written_out][: eff * eff]
    assert got == expected
    if eff == 7:  # 49 = 3·15 + 4: the fourth sub-scale keeps orders (0..3, 0) along H
        assert got[45:] == [(3, 0, 0), (3, 1, 0), (3, 2, 0), (3, 3, 0)]


@pytest.mark.parametrize(
    ("kind", "eff", "scales"),
    [
        ("A", 5, [2.0, 2 * 3**0.5, 6.0]),
        ("A", 3, [1.0, 1.7]),
        ("B", 7, [1.5, 1.89, 2.38, 3.0]),
        ("B", 4, [3.0, 1.2, 2.0]),
    ],
)
def test_basis_matches_the_numpy_reference_in_float32(kind, eff, scales):
    spec = BasisSpec(kind, eff)
    basis = build_basis(spec, torch.tensor(scales)).dense()
    size = max(3, 2 * math.ceil(4 * max(scales)) + 1)
    expected = reference_basis(kind, eff, scales, size)
    assert basis.shape == expected.shape
    np.testing.assert_allclose(basis.numpy(), expected, rtol=0, atol=3e-6 * np.abs(expected).max())


def test_mnist_scale_basis_b_with_mult_1_4_matches_the_reference_in_float64():
    scales = [1.5, 1.5 * 2 ** (1 / 3), 1.5 * 2 ** (2 / 3), 3.0]
    basis = build_basis(BasisSpec("B", 7, mult=1.4), torch.tensor(scales, dtype=torch.float64)).dense()
    expected = reference_basis("B", 7, scales, 25, mult=1.4)
    np.testing.assert_allclose(basis.numpy(), expected, rtol=0, atol=1e-12 * np.abs(expected).max())


def test_every_function_has_unit_norm_at_the_smallest_scale():
    basis = build_basis(BasisSpec("B", 5), torch.tensor([2.5, 1.1, 4.0], dtype=torch.float64)).dense()
    norms = basis[:, 1].pow(2).sum(dim=(-2, -1)).sqrt()
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_each_scale_lives_in_its_own_centred_window():
    scales = [1.0, 2.0, 4.0]
    basis = build_basis(BasisSpec("A", 3), torch.tensor(scales)).dense()
    assert basis.shape[-1] == 33  # 2·ceil(4·4)+1
    for i, half in enumerate([33 // 4 // 2, 33 // 2 // 2, 16]):  # int(33·σ_i/4)//2
        support = basis[:, i].abs().sum(dim=(0, 1)) > 0
        assert support.nonzero().min() == 16 - half and support.nonzero().max() == 16 + half


def test_basis_b_layout_has_orders_up_to_four_per_sub_scale():
    layout = BasisSpec("B", 7).layout
    assert len(layout.rows) == 49
    orders = [(layout.sub_scale[r], layout.order[r] + layout.order[c]) for r, c in zip(layout.rows, layout.cols)]
    assert max(total for _, total in orders) == 4
    assert [j for j, _ in orders].count(0) == 15 and [j for j, _ in orders].count(3) == 4
    assert all(layout.sub_scale[r] == layout.sub_scale[c] for r, c in zip(layout.rows, layout.cols))


@pytest.mark.parametrize(
    ("sigma_max", "k", "cap", "size"),
    [
        (6.0, 4.0, None, 49),
        (3.0, 4.0, None, 25),
        (0.2, 4.0, None, 3),
        (2.01, 4.0, None, 19),
        (6.0, 4.0, 31, 31),
        (1.5, 2.0, None, 7),
        (6.000001, 4.0, None, 49),
    ],
)
def test_kernel_size_rule(sigma_max, k, cap, size):
    assert BasisSpec(k=k, max_kernel=cap).kernel_size(sigma_max) == size


def test_float32_learnable_scales_keep_the_toy_kernel_at_49():
    scales = InternalScales(ns=3, sigma_basis=2.0, isr=3.0)()
    assert build_basis(BasisSpec(), scales).kernel_size == 49


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"kind": "C"}, "'C'"),
        ({"eff": 0}, "eff=0"),
        ({"eff": 2.5}, "eff=2.5"),
        ({"k": -1.0}, "k=-1.0"),
        ({"k": float("nan")}, "k=nan"),
        ({"max_kernel": 4}, "max_kernel=4"),
        ({"max_kernel": 1}, "max_kernel=1"),
        ({"mult": 1.0}, "mult=1.0"),
    ],
)
def test_invalid_spec_names_the_value(kwargs, shown):
    with pytest.raises(ValueError, match=shown):
        BasisSpec(**kwargs)


@pytest.mark.parametrize("scales", [[1.0, float("inf")], [0.0, 2.0], [float("nan"), 1.0]])
def test_invalid_scales_are_rejected(scales):
    with pytest.raises(ValueError, match="scales="):
        build_basis(BasisSpec(), torch.tensor(scales))


@pytest.mark.parametrize("kind", ["A", "B"])
def test_gradcheck_through_the_basis(kind):
    scales = torch.tensor([0.9, 1.3], dtype=torch.float64, requires_grad=True)
    spec = BasisSpec(kind, 2, k=2.0)
    assert torch.autograd.gradcheck(lambda s: build_basis(spec, s).dense(), (scales,))
