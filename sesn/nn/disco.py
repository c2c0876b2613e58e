"""The DISCO basis (Sosnovik, Moskalev & Smeulders, "DISCO: accurate Discrete
Scale Convolutions", BMVC 2021): kernels optimised on the pixel grid for
equivariance between the target scales, instead of sampled continuous functions.

At the smallest internal scale S_min a function of basis "disco" is a function
of basis B (orders n_H + n_W ≤ 4, sub-scales σ = S_min / mult^j, SESN's index
convention) sampled on eff × eff pixels, as DISCO's ``disco_b``. At the scale
factor f_i = S_i / S_min it is the same eff × eff values laid on a *proxy*
P_i [eff, l]: row a is the l-pixel kernel that the unit impulse at offset
a − eff//2 becomes at f_i. The proxies are separable (the 2-D proxy of pixel
(a, b) is P_i[a] ⊗ P_i[b]), so the basis stays a product of 1-D atoms
(``SeparableBasis``) and runs on both paths of the scale convolutions.

- f = 1 (the smallest scale): the impulses themselves.
- f an integer (within INTEGER_TOLERANCE) and ``dilate``: impulses f pixels
  apart (dilation), exactly equivariant under any downscaling that is a strided
  filter, as in DISCO.
- every other f: the least-squares solution of the equivariance error of all
  pairs of scales f_p < f_q, t = f_q / f_p,

      Σ_pairs ‖R_t C(P_q) − C(P_p) R_t‖²_F,

  R_t PyTorch's bicubic downscaling by t (a = −0.75, no antialiasing, DISCO's
  choice), C(k) the correlation with k, the Frobenius norm over ROWS output
  samples of an unbounded signal: the expected squared error on white noise,
  or (``noise_blur`` > 0, not in DISCO) on white noise blurred by a Gaussian of
  that std in px, such as ``sesn.nn.equivariance.smooth_noise``.
  DISCO minimises the same error with Adam on random 154 × 154 images, for 2-D
  (non-separable) proxies, with unsquared norms per pair and pairs weighted by
  their output size; here it is solved exactly, in 1-D, pairs weighted alike.

Fixed scales: the proxies are computed once and cached on disk, one file per
hash of their settings in ``cache_dir()/disco`` ($SCALETOL_CACHE, else
~/.cache/scaletol). Learnable scales (``dilate=False``): every proxy but the
smallest scale's is solved at each call through the normal equations, so
gradients reach the scales; integer factors are solved too, since a dilated
grid does not move with its scale.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from scaletol.files import atomic_write, cache_dir
from sesn.nn.hermite import hermite_atoms

ALGORITHM = "separable least squares, v1"  # change it when the solution changes: old cache files are then unused
CUBIC_A = -0.75  # PyTorch's bicubic kernel
ROWS = 96  # output samples (phases of the resampling) on which each pair of scales is compared
INTEGER_TOLERANCE = 1e-4  # relative: a factor this close to an integer is that integer
MARGIN = 1  # px of the kernel beyond the dilated grid of the largest scale, each side
DECIMALS = 6  # fixed scale factors are rounded to this many decimals (and cached under them)


def disco_kernel_size(eff: int, ratio: float) -> int:
    """l = 2·ceil((eff//2)·ratio + MARGIN) + 1 px for σ_max / σ_min = ``ratio``:
    the dilated grid of the largest scale and MARGIN px each side (15 px for
    eff 7 and ratio 2, DISCO's MNIST-Scale kernel)."""
    return 2 * math.ceil((eff // 2) * ratio + MARGIN - INTEGER_TOLERANCE) + 1


def integer_factor(factor: float) -> int | None:
    """The integer within INTEGER_TOLERANCE (relative) of ``factor``, else None."""
    nearest = round(factor)
    return nearest if nearest >= 1 and abs(factor - nearest) <= INTEGER_TOLERANCE * factor else None


def cubic(d: Tensor) -> Tensor:
    """Weights of the bicubic convolution kernel (a = CUBIC_A) at distances ``d``."""
    d = d.abs()
    near = ((CUBIC_A + 2) * d - (CUBIC_A + 3)) * d * d + 1
    far = ((CUBIC_A * d - 5 * CUBIC_A) * d + 8 * CUBIC_A) * d - 4 * CUBIC_A
    return torch.where(d <= 1, near, torch.where(d < 2, far, torch.zeros_like(d)))


def pair_operators(t: Tensor, size: int, noise_blur: float = 0.0) -> tuple[Tensor, Tensor]:
    """(A, B), each [l, ROWS, W]: for kernels k_small, k_large [l] at ratio t,
    output sample m of R_t C(k_large) − C(k_small) R_t applied to an unbounded
    signal x is Σ_τ Σ_w (k_large[τ]·A[τ, m, w] − k_small[τ]·B[τ, m, w])·x[n_m + w − W//2],
    n_m = floor((m + ½)·t − ½): the W input samples around where output m reads.
    With ``noise_blur`` > 0, x is white noise blurred by a Gaussian of that
    std (px), and A and B act on the white noise (W grows by 2·ceil(4·blur))."""
    centre = size // 2
    half = math.ceil(centre * float(t.detach())) + 3
    rows = torch.arange(ROWS, dtype=t.dtype, device=t.device)
    taps = torch.arange(size, dtype=t.dtype, device=t.device) - centre
    window = torch.arange(-half, half + 1, dtype=t.dtype, device=t.device)
    source = (rows + 0.5) * t - 0.5  # where output m samples the input (bicubic, align_corners=False)
    inputs = source.detach().floor()[:, None] + window  # [ROWS, W] input samples near it
    # correlate, then downscale: output m reads the correlation at `source`, which reads input n + τ
    conv_first = cubic(source[None, :, None] + taps[:, None, None] - inputs)
    # downscale, then correlate: output m reads downscaled sample m + τ, at (m + τ + ½)·t − ½
    resize_first = cubic((rows[None, :, None] + taps[:, None, None] + 0.5) * t - 0.5 - inputs)
    if noise_blur > 0:
        reach = math.ceil(4 * noise_blur)
        offsets = torch.arange(-reach, reach + 1, dtype=t.dtype, device=t.device)
        gauss = torch.exp(-0.5 * (offsets / noise_blur) ** 2)
        gauss = (gauss / gauss.sum())[None, None]
        conv_first, resize_first = (
            F.conv1d(op.reshape(-1, 1, op.shape[-1]), gauss, padding=2 * reach).reshape(size, ROWS, -1)
            for op in (conv_first, resize_first)
        )
    return conv_first, resize_first


def equivariance_gram(factors: Tensor, size: int, noise_blur: float = 0.0) -> Tensor:
    """G [S, l, S, l]: the equivariance error of proxies p [S, l] (one row a
    of each P_i) is Σ p[i, τ]·G[i, τ, j, υ]·p[j, υ]."""
    n = len(factors)
    zero = factors.new_zeros(size, size)
    blocks = [[zero for _ in range(n)] for _ in range(n)]
    values = factors.detach().tolist()
    order = sorted(range(n), key=lambda i: (values[i], i))
    for position, small in enumerate(order):
        for large in order[position + 1 :]:
            a, b = pair_operators(factors[large] / factors[small], size, noise_blur)
            blocks[large][large] = blocks[large][large] + torch.einsum("tmw,umw->tu", a, a)
            blocks[small][small] = blocks[small][small] + torch.einsum("tmw,umw->tu", b, b)
            cross = torch.einsum("tmw,umw->tu", a, b)
            blocks[large][small] = blocks[large][small] - cross
            blocks[small][large] = blocks[small][large] - cross.T
    return torch.stack([torch.stack(row, dim=1) for row in blocks])


def equivariance_error(proxies: Tensor, factors: Tensor, noise_blur: float = 0.0) -> Tensor:
    """[eff] equivariance error of each row of ``proxies`` [S, eff, l] at ``factors`` [S]."""
    gram = equivariance_gram(factors.to(proxies.dtype), proxies.shape[-1], noise_blur)
    return torch.einsum("sat,stru,rau->a", proxies, gram, proxies)


def impulses(eff: int, size: int, step: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """[eff, l] unit impulses ``step`` px apart, centred: the dilated grid."""
    grid = torch.zeros(eff, size, dtype=dtype, device=device)
    grid[torch.arange(eff), size // 2 + step * (torch.arange(eff) - eff // 2)] = 1
    return grid


def solve_proxies(factors: Tensor, eff: int, size: int, *, dilate: bool, noise_blur: float = 0.0) -> Tensor:
    """The proxies [S, eff, l] for scale factors [S] (smallest 1), in
    ``factors``' dtype, differentiable with respect to ``factors``.

    Impulses at the smallest factor, dilated impulses at integer factors when
    ``dilate``, least squares of the equivariance error elsewhere."""
    values = factors.detach().tolist()
    smallest = min(range(len(values)), key=values.__getitem__)
    known = {smallest: 1}
    if dilate:
        known.update({i: n for i, f in enumerate(values) if (n := integer_factor(f)) is not None and i not in known})
    if (eff // 2) * max(known.values()) > size // 2:
        raise ValueError(f"a {size}-px kernel cannot hold the dilated {eff}-px grid of factor {max(known.values())}")
    proxies = {i: impulses(eff, size, n, factors.dtype, factors.device) for i, n in known.items()}
    unknown = [i for i in range(len(values)) if i not in known]
    if unknown:
        fixed = sorted(known)
        gram = equivariance_gram(factors, size, noise_blur)
        g_uu = gram[unknown][:, :, unknown].reshape(len(unknown) * size, -1)
        g_uk = gram[unknown][:, :, fixed].reshape(len(unknown) * size, -1)
        p_k = torch.stack([proxies[i] for i in fixed]).transpose(1, 2).reshape(-1, eff)  # [K·l, eff]
        solved = torch.linalg.solve(g_uu, -g_uk @ p_k)  # [U·l, eff]
        proxies.update(zip(unknown, solved.reshape(len(unknown), size, eff).transpose(1, 2)))
    return torch.stack([proxies[i] for i in range(len(values))])


def proxy_settings(factors: Sequence[float], eff: int, size: int, noise_blur: float = 0.0) -> dict:
    """What the proxies of fixed scale factors depend on (the cache key)."""
    return {
        "algorithm": ALGORITHM,
        "factors": [round(float(f), DECIMALS) for f in factors],
        "eff": int(eff),
        "size": int(size),
        "rows": ROWS,
        "noise_blur": float(noise_blur),
        "resampling": f"bicubic a={CUBIC_A}",
        "dilate": True,
    }


def settings_hash(settings: dict) -> str:
    """SHA-256 (hex) of the settings' canonical JSON."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()


def proxy_cache_path(settings: dict) -> Path:
    """The cache file of the proxies with these settings."""
    return cache_dir() / "disco" / f"{settings_hash(settings)[:32]}.pt"


def cached_proxies(factors: Sequence[float], eff: int, size: int, noise_blur: float = 0.0) -> Tensor:
    """solve_proxies(dilate=True) for fixed factors (rounded to DECIMALS),
    float64, read from the disk cache or computed once and written to it
    atomically (a cache that cannot be written only warns)."""
    settings = proxy_settings(factors, eff, size, noise_blur)
    text = json.dumps(settings, sort_keys=True)
    path = proxy_cache_path(settings)
    try:
        saved = torch.load(path, weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError):
        saved = None
    if isinstance(saved, dict) and saved.get("settings") == text:
        return saved["proxies"]
    values = torch.tensor(settings["factors"], dtype=torch.float64)
    proxies = solve_proxies(values, eff, size, dilate=True, noise_blur=noise_blur)
    try:
        atomic_write(path, lambda tmp: torch.save({"settings": text, "proxies": proxies}, tmp))
    except OSError as exc:
        warnings.warn(f"DISCO basis not cached in {path.parent}: {exc}", stacklevel=2)
    return proxies


def disco_atoms(
    scales: Tensor,
    sub_scale: Sequence[int],
    order: Sequence[int],
    mult: float,
    eff: int,
    size: int,
    *,
    dilate: bool,
    noise_blur: float = 0.0,
) -> Tensor:
    """[S, A, l] 1-D atoms of basis "disco" at the internal scales [S] (px), not normalised.

    Atom k is the eff-sample Hermite atom of order ``order[k]`` at σ =
    S_min / mult**sub_scale[k] carried to every scale by the proxies.
    Differentiable with respect to ``scales``; with ``dilate`` and scales
    that need no gradient, the proxies come from the disk cache.
    """
    sigma = scales.min()
    factors = scales / sigma
    if dilate and not factors.requires_grad:
        proxies = cached_proxies(factors.tolist(), eff, size, noise_blur).to(scales.device, scales.dtype)
    else:
        proxies = solve_proxies(factors.double(), eff, size, dilate=dilate, noise_blur=noise_blur).to(scales.dtype)
    exponents = torch.arange(max(sub_scale) + 1, dtype=scales.dtype, device=scales.device)
    inner = hermite_atoms(sigma / mult**exponents, max(order) + 1, eff)  # [J, orders, eff]
    inner = inner[torch.tensor(sub_scale), torch.tensor(order)]  # [A, eff]
    return torch.einsum("ae,sel->sal", inner, proxies)
