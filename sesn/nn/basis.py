"""Multi-scale Hermite bases A and B as separable products of 1-D atoms.

Every 2-D basis function is ψ_row(y)·ψ_col(x), both atoms at the same scale, so
a basis is stored as its 1-D atoms [S, A, l] plus, per function, the index of
its row atom and of its column atom. The dense form [F, S, l, l] is one
broadcast product of those atoms.

Basis "A": all products ψ_ny·ψ_nx with nx, ny < eff (eff² functions).
Basis "B": orders nx+ny ≤ 4 over sub-scales σ, σ/m, σ/m², … truncated to eff²
functions. Scale σ_i is sampled on a centred odd window of
int(l·σ_i/σ_max)//2·2+1 pixels inside the l × l kernel, and every atom is
divided by its L2 norm at the smallest scale, so every 2-D function has unit
norm at the smallest scale.
"""

import math
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import torch
from torch import Tensor

from sesn.nn.hermite import hermite_atoms

BASIS_KINDS = ("A", "B")
MAX_ORDER_B = 4
# k·σ_max within this many pixels above an integer does not widen the kernel:
# float32 scales such as 2·(1+γ²) with γ = √2 land a few ulp above 6.
SIZE_TOLERANCE = 1e-4


class AtomLayout(NamedTuple):
    """Which atoms a basis needs and how its functions pair them.

    sub_scale: [A] exponent j of each atom (its σ is σ_i / mult**j);
    order: [A] Hermite order of each atom; rows, cols: [F] atom index of the
    y (row) and x (column) factor of each 2-D function.
    """

    sub_scale: tuple[int, ...]
    order: tuple[int, ...]
    rows: tuple[int, ...]
    cols: tuple[int, ...]


class SeparableBasis(NamedTuple):
    """atoms: [S, A, l] windowed, normalised 1-D atoms; rows, cols: [F] int64."""

    atoms: Tensor
    rows: Tensor
    cols: Tensor

    @property
    def kernel_size(self) -> int:
        return self.atoms.shape[-1]

    def dense(self) -> Tensor:
        """The 2-D basis [F, S, l, l] (dims: function, scale, y, x)."""
        row_atoms = self.atoms[:, self.rows, :, None]
        col_atoms = self.atoms[:, self.cols, None, :]
        return (row_atoms * col_atoms).transpose(0, 1)


@dataclass(frozen=True)
class BasisSpec:
    """Configuration of a basis; hashable, so it can key a cache.

    kind: "A" or "B"; eff: the basis has eff² functions; k: kernel extent in
    units of σ_max; max_kernel: optional cap on the kernel size (odd, ≥ 3);
    mult: ratio m between the sub-scales of basis B (> 1).
    """

    kind: str = "A"
    eff: int = 5
    k: float = 4.0
    max_kernel: int | None = None
    mult: float = 1.5

    def __post_init__(self):
        if self.kind not in BASIS_KINDS:
            raise ValueError(f"basis={self.kind!r} must be one of {BASIS_KINDS}")
        if isinstance(self.eff, bool) or not isinstance(self.eff, int) or self.eff < 1:
            raise ValueError(f"eff={self.eff!r} must be an integer ≥ 1")
        if not (math.isfinite(self.k) and self.k > 0):
            raise ValueError(f"k={self.k!r} must be a finite number > 0")
        if self.max_kernel is not None and (
            isinstance(self.max_kernel, bool)
            or not isinstance(self.max_kernel, int)
            or self.max_kernel < 3
            or self.max_kernel % 2 == 0
        ):
            raise ValueError(f"max_kernel={self.max_kernel!r} must be an odd integer ≥ 3")
        if not (math.isfinite(self.mult) and self.mult > 1):
            raise ValueError(f"mult={self.mult!r} must be a finite number > 1")

    @property
    def num_functions(self) -> int:
        return self.eff * self.eff

    def kernel_size(self, sigma_max: float) -> int:
        """l = max(3, 2·ceil(k·σ_max)+1), capped at max_kernel (pixels)."""
        if not (math.isfinite(sigma_max) and sigma_max > 0):
            raise ValueError(f"sigma_max={sigma_max!r} must be a finite number > 0")
        size = max(3, 2 * math.ceil(self.k * sigma_max - SIZE_TOLERANCE) + 1)
        return size if self.max_kernel is None else min(size, self.max_kernel)

    @cached_property
    def layout(self) -> AtomLayout:
        if self.kind == "A":
            atoms = [(0, n) for n in range(self.eff)]
            pairs = [(ny, nx) for ny in range(self.eff) for nx in range(self.eff)]
            return _layout_from(atoms, pairs)
        wanted = self.num_functions
        atom_pairs: list[tuple[tuple[int, int], tuple[int, int]]] = []
        sub_scale = 0
        while len(atom_pairs) < wanted:
            for total in range(MAX_ORDER_B + 1):
                for ny in range(total + 1):
                    atom_pairs.append(((sub_scale, ny), (sub_scale, total - ny)))
            sub_scale += 1
        atom_pairs = atom_pairs[:wanted]
        atoms = sorted({atom for pair in atom_pairs for atom in pair})
        index = {atom: i for i, atom in enumerate(atoms)}
        return _layout_from(atoms, [(index[r], index[c]) for r, c in atom_pairs])


def _layout_from(atoms, pairs) -> AtomLayout:
    sub_scale, order = zip(*atoms)
    rows, cols = zip(*pairs)
    return AtomLayout(sub_scale, order, rows, cols)


def window_mask(scales: list[float], size: int, dtype, device) -> Tensor:
    """[S, size] 1 inside scale i's centred window of int(size·σ_i/σ_max)//2·2+1 px."""
    sigma_max = max(scales)
    half_widths = torch.tensor([int(size * s / sigma_max) // 2 for s in scales], device=device)
    offsets = torch.arange(size, device=device) - size // 2
    return (offsets.abs()[None, :] <= half_widths[:, None]).to(dtype)


def build_basis(spec: BasisSpec, scales: Tensor) -> SeparableBasis:
    """The basis of ``spec`` at the internal scales ``scales`` [S] (pixels).

    Differentiable with respect to ``scales``; the kernel size follows
    σ_max = max(scales) by ``spec.kernel_size``.
    """
    values = scales.detach().tolist()
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"scales={values} must be finite and > 0")
    size = spec.kernel_size(max(values))
    layout = spec.layout
    device = scales.device
    exponents = torch.arange(max(layout.sub_scale) + 1, dtype=scales.dtype, device=device)
    sub_sigmas = scales[:, None] / spec.mult**exponents  # [S, J]
    n_orders = max(layout.order) + 1
    all_atoms = hermite_atoms(sub_sigmas, n_orders, size)  # [S, J, n_orders, l]
    sub_scale = torch.tensor(layout.sub_scale, device=device)
    order = torch.tensor(layout.order, device=device)
    atoms = all_atoms[:, sub_scale, order]  # [S, A, l]
    atoms = atoms * window_mask(values, size, scales.dtype, device)[:, None, :]
    smallest = min(range(len(values)), key=values.__getitem__)
    atoms = atoms / atoms[smallest].norm(dim=-1)[None, :, None]
    rows = torch.tensor(layout.rows, device=device)
    cols = torch.tensor(layout.cols, device=device)
    return SeparableBasis(atoms, rows, cols)
