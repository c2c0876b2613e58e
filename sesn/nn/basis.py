"""Multi-scale bases — Hermite A and B, and DISCO — as separable products of 1-D atoms.

Every 2-D basis function is ψ_{n_H}(y)·ψ_{n_W}(x), both atoms at the same
scale (y: first spatial axis, H, rows; x: second, W, columns), so a basis is
stored as its 1-D atoms [S, A, l] plus, per function, the index of its row atom
and of its column atom. The dense form [F, S, l, l] is one broadcast product of
those atoms.

Functions are indexed as in SESN (Sosnovik et al. 2020), DISCO and the thesis
code, so weights move between them unchanged:

- basis "A": function f has order n_H = f mod eff along H and n_W = f div eff
  along W (eff² functions);
- basis "B": per sub-scale σ, σ/m, σ/m², … the 15 orders with n_H + n_W ≤ 4 in
  the row-major order of ``np.indices((5, 5))`` masked by that sum, i.e.
  (n_H, n_W) = (0,0), (1,0), (2,0), (3,0), (4,0), (0,1), (1,1), …, (0,4);
  concatenated over the sub-scales and truncated to eff² functions.

- basis "disco": basis B's functions on eff × eff pixels at the smallest
  scale, carried to the other scales by kernels optimised for equivariance on
  the pixel grid (``sesn.nn.disco``).

In bases A and B, scale σ_i is sampled on a centred odd window of
int(l·σ_i/σ_max)//2·2+1 pixels inside the l × l kernel. Every atom is divided
by its L2 norm at the smallest scale, so every 2-D function has unit norm at
the smallest scale.
"""

import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import torch
from torch import Tensor

from scaletol.checks import InputError, check_choice, check_int, check_number, check_positive
from sesn.nn.disco import disco_atoms, disco_kernel_size
from sesn.nn.hermite import hermite_atoms

BASIS_KINDS = ("A", "B", "disco")
MAX_ORDER_B = 4
# Largest kernel (px) a basis may ask for: σ_max = 64 px at k = 4. Beyond it a
# dense basis of eff 7 at 4 scales would take more than 200 MB, and a scale
# running away would ask for gigabytes; ``max_kernel`` may cap kernels below it.
KERNEL_SIZE_LIMIT = 513
# k·σ_max within this many pixels above an integer does not widen the kernel:
# float32 scales such as 2·(1+γ²) with γ = √2 land a few ulp above 6.
SIZE_TOLERANCE = 1e-4


class TruncationWarning(UserWarning):
    """``max_kernel`` cuts off the basis: scale equivariance suffers."""


class AtomLayout(NamedTuple):
    """Which atoms a basis needs and how its functions pair them.

    sub_scale: [A] exponent j of each atom (its σ is σ_i / mult**j);
    order: [A] Hermite order of each atom; rows, cols: [F] atom index of the
    H (row, y) and W (column, x) factor of each 2-D function.
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
        """The 2-D basis [F, S, l, l] (dims: function, scale, y (H), x (W))."""
        row_atoms = self.atoms[:, self.rows, :, None]
        col_atoms = self.atoms[:, self.cols, None, :]
        return (row_atoms * col_atoms).transpose(0, 1)


def sesn_orders(kind: str, eff: int) -> list[tuple[int, int, int]]:
    """(sub-scale exponent j, n_H, n_W) of every basis function, in SESN's order."""
    if kind == "A":
        return [(0, f % eff, f // eff) for f in range(eff * eff)]
    per_sub_scale = [
        (n_h, n_w) for n_w in range(MAX_ORDER_B + 1) for n_h in range(MAX_ORDER_B + 1) if n_h + n_w <= MAX_ORDER_B
    ]
    n_sub_scales = -(-eff * eff // len(per_sub_scale))
    functions = [(j, n_h, n_w) for j in range(n_sub_scales) for n_h, n_w in per_sub_scale]
    return functions[: eff * eff]


@dataclass(frozen=True)
class BasisSpec:
    """Configuration of a basis; hashable, so it can key a cache.

    kind: "A", "B" or "disco"; eff: the basis has eff² functions; k: kernel
    extent in units of σ_max (A and B; DISCO's kernel spans its dilated grid,
    ``sesn.nn.disco.disco_kernel_size``); max_kernel: optional cap on the
    kernel size (odd, 3 … KERNEL_SIZE_LIMIT px; a cap that cuts a kernel warns
    once); mult: ratio m between the sub-scales of bases B and disco (> 1;
    unused by basis A); dilate (disco only): integer scale factors take the
    dilated grid — False for learnable scales, whose kernels must follow them;
    noise_blur (disco only, ≥ 0 px): the std of the Gaussian blur of the noise
    its kernels are fitted on (0: white noise, DISCO's objective).
    Numbers may be Python, NumPy or 0-d tensor numbers.
    """

    kind: str = "A"
    eff: int = 5
    k: float = 4.0
    max_kernel: int | None = None
    mult: float = 1.5
    dilate: bool = True
    noise_blur: float = 0.0

    def __post_init__(self) -> None:
        check_choice("basis", self.kind, BASIS_KINDS)
        object.__setattr__(self, "dilate", bool(self.dilate) or self.kind != "disco")
        blur = check_number("noise_blur", self.noise_blur, low=0.0)
        object.__setattr__(self, "noise_blur", blur if self.kind == "disco" else 0.0)
        object.__setattr__(self, "eff", check_int("eff", self.eff, low=1))
        object.__setattr__(self, "k", check_positive("k", self.k))
        if self.max_kernel is not None:
            cap = check_int("max_kernel", self.max_kernel, low=3, high=KERNEL_SIZE_LIMIT)
            if cap % 2 == 0:
                raise InputError(f"max_kernel={cap} must be an odd integer in [3, {KERNEL_SIZE_LIMIT}]")
            object.__setattr__(self, "max_kernel", cap)
        object.__setattr__(self, "mult", check_number("mult", self.mult, low=1.0, low_open=True))

    @property
    def num_functions(self) -> int:
        return self.eff * self.eff

    def settings(self) -> dict:
        """What the weights of a layer with this basis mean: kind, eff, the
        index convention and (basis B) mult. k and max_kernel only decide where
        the functions are cut off, so states move between them."""
        settings: dict = {"basis": self.kind, "eff": self.eff, "index": "sesn"}
        if self.kind != "A":
            settings["mult"] = self.mult
        if self.kind == "disco":
            settings.update(dilate=self.dilate, noise_blur=self.noise_blur)
        return settings

    def full_kernel_size(self, sigma_max: float, sigma_min: float | None = None) -> int:
        """l in pixels, before any ``max_kernel`` cap: max(3, 2·ceil(k·σ_max)+1)
        for bases A and B; ``disco_kernel_size(eff, σ_max/σ_min)`` for DISCO
        (which needs the smallest scale σ_min too).

        Raises InputError naming σ_max and the size beyond KERNEL_SIZE_LIMIT
        unless max_kernel caps it."""
        sigma_max = check_positive("sigma_max", sigma_max)
        if self.kind == "disco":
            if sigma_min is None:
                raise ValueError("basis disco sizes its kernel by σ_max / σ_min: give sigma_min")
            size = disco_kernel_size(self.eff, sigma_max / check_positive("sigma_min", sigma_min))
            asked = f"the ratio σ_max/σ_min={sigma_max / sigma_min:.6g}"
        else:
            size = max(3, 2 * math.ceil(self.k * sigma_max - SIZE_TOLERANCE) + 1)
            asked = f"internal scale σ_max={sigma_max:.6g} px"
        if size > KERNEL_SIZE_LIMIT and self.max_kernel is None:
            raise InputError(
                f"{asked} asks for a kernel of {size} px (basis {self.kind}, k={self.k:g}); "
                f"it must be ≤ {KERNEL_SIZE_LIMIT} px (sesn.nn.basis.KERNEL_SIZE_LIMIT): "
                "choose smaller scales, a smaller k or a max_kernel"
            )
        return size

    def kernel_size(self, sigma_max: float, sigma_min: float | None = None) -> int:
        """The kernel size (px): ``full_kernel_size`` capped at max_kernel."""
        size = self.full_kernel_size(sigma_max, sigma_min)
        return size if self.max_kernel is None else min(size, self.max_kernel)

    def warn_if_truncated(self, sigma_max: float, sigma_min: float | None = None) -> None:
        """Warn (once per spec) when max_kernel cuts the kernel of these scales."""
        size = self.full_kernel_size(sigma_max, sigma_min)
        if self.max_kernel is not None and size > self.max_kernel and self not in _WARNED_TRUNCATION:
            _WARNED_TRUNCATION.add(self)
            warnings.warn(
                f"max_kernel={self.max_kernel} truncates the {size}-px kernels of σ_max={sigma_max:.4g} px "
                f"(basis {self.kind}, eff {self.eff}, k={self.k:g}): scale equivariance suffers",
                TruncationWarning,
                stacklevel=3,
            )

    @cached_property
    def layout(self) -> AtomLayout:
        functions = sesn_orders(self.kind, self.eff)
        atoms = sorted({(j, n) for j, n_h, n_w in functions for n in (n_h, n_w)})
        index = {atom: i for i, atom in enumerate(atoms)}
        sub_scale, order = zip(*atoms)
        rows = tuple(index[(j, n_h)] for j, n_h, _ in functions)
        cols = tuple(index[(j, n_w)] for j, _, n_w in functions)
        return AtomLayout(sub_scale, order, rows, cols)


_WARNED_TRUNCATION: set[BasisSpec] = set()


def window_mask(scales: list[float], size: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """[S, size] 1 inside scale i's centred window of int(size·σ_i/σ_max)//2·2+1 px."""
    sigma_max = max(scales)
    half_widths = torch.tensor([int(size * s / sigma_max) // 2 for s in scales], device=device)
    offsets = torch.arange(size, device=device) - size // 2
    return (offsets.abs()[None, :] <= half_widths[:, None]).to(dtype)


def build_basis(spec: BasisSpec, scales: Tensor) -> SeparableBasis:
    """The basis of ``spec`` at the internal scales ``scales`` [S] (pixels).

    Differentiable with respect to ``scales``; the kernel size follows the
    scales by ``spec.kernel_size`` (InputError past
    KERNEL_SIZE_LIMIT, checked before anything is allocated).
    """
    values = scales.detach().tolist()
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise InputError(f"scales={values} must be finite and > 0")
    spec.warn_if_truncated(max(values), min(values))
    size = spec.kernel_size(max(values), min(values))
    layout = spec.layout
    device = scales.device
    if spec.kind == "disco":
        full = spec.full_kernel_size(max(values), min(values))
        atoms = disco_atoms(
            scales,
            layout.sub_scale,
            layout.order,
            spec.mult,
            spec.eff,
            full,
            dilate=spec.dilate,
            noise_blur=spec.noise_blur,
        )
        cut = (full - size) // 2
        atoms = atoms[..., cut : full - cut]  # a max_kernel cap crops the solved kernels
    else:
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
