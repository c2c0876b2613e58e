"""Separable scale convolution, evaluated in the Fourier domain.

Every basis function is ψ_r(y)·ψ_c(x), so its 2-D spectrum is the outer
product of two 1-D atom spectra. A layer's kernel spectra are assembled from
the atoms' 1-D spectra and the weights — no 2-D kernel is ever built — and the
convolution runs as row and column FFT passes over the input, a per-frequency
combination with the kernel spectra, and the inverse passes. Its cost grows
with the kernel size l only through the padded FFT length n + l − 1, where a
direct convolution grows with l².

The result equals ``F.conv2d(x, kernel, padding=l//2, stride=stride)`` (a
cross-correlation with zero padding): the input is shifted by l//2 and rows
and columns are padded to fast FFT lengths ≥ n + l//2 (``padded_length``). The
circular correlation then wraps only zeros onto the output pixels we keep:
reads past the end land in the l//2 zeros before the shifted input. The batch
is processed in chunks whose spectra fit in cache.
"""

import torch
import torch.nn.functional as F
from scipy.fft import next_fast_len
from torch import Tensor

from sesn.nn.basis import SeparableBasis

CACHE_BYTES = 16 * 2**20  # working set aimed at per chunk (within the 32 MiB L3 cache)


@torch.compiler.assume_constant_result
def padded_length(n: int, size: int, real: bool) -> int:
    """FFT length for n pixels and kernel size l: no wrap-around reaches the
    output. ``scipy.fft.next_fast_len``: 5-smooth for real transforms (rfft),
    11-smooth for complex ones. A constant to torch.compile (which cannot
    trace scipy), recomputed when the input size changes."""
    return next_fast_len(n + size // 2, real=real)


def atom_spectra(atoms: Tensor, length: int, onesided: bool) -> Tensor:
    """Conjugate DFT of each atom laid on [0, l) of a length-``length`` signal.

    atoms: [S, A, l] → [S, A, length//2+1] (onesided) or [S, A, length], complex.
    The conjugate turns the product of spectra into a cross-correlation.
    """
    transform = torch.fft.rfft if onesided else torch.fft.fft
    return transform(atoms, n=length).conj()


def kernel_spectra(weight: Tensor, basis: SeparableBasis, rows: int, cols: int) -> Tensor:
    """Spectra of the kernels Σ_f w_f ψ_f at every scale: [O, C, J, S, cols//2+1, rows].

    weight: [O, C, J, F]. Assembled from 1-D atom spectra: first the column
    atoms are combined with the weights, then multiplied by the row atoms.
    Spectra are stored column frequency first (see ``separable_scale_conv``).
    """
    n_atoms = basis.atoms.shape[1]
    pairs = weight.new_zeros(*weight.shape[:-1], n_atoms, n_atoms)  # [O, C, J, A_row, A_col]
    pairs[..., basis.rows, basis.cols] = weight
    column_spectra = atom_spectra(basis.atoms, cols, onesided=True)  # [S, A, cols//2+1]
    row_spectra = atom_spectra(basis.atoms, rows, onesided=False)  # [S, A, rows]
    per_row_atom = torch.einsum("ocjyx,sxk->ocjsyk", pairs.to(column_spectra.dtype), column_spectra)
    return torch.einsum("syh,ocjsyk->ocjskh", row_spectra, per_row_atom)


def _kernel_operand(kernels: Tensor, shared_input: bool) -> Tensor:
    """Kernel spectra [O, C, J, S, K, R] laid out for ``_combine``."""
    out_channels, in_channels, span, n_scales, freqs, rows = kernels.shape
    if in_channels * span == 1:
        return kernels[:, 0, 0]  # [O, S, K, R]
    depth = in_channels * span
    if shared_input:  # per frequency: [b, C·J] @ [C·J, S·O]
        return kernels.permute(4, 5, 1, 2, 3, 0).reshape(freqs * rows, depth, n_scales * out_channels)
    return kernels.permute(3, 4, 5, 1, 2, 0).reshape(n_scales * freqs * rows, depth, out_channels)


def _combine(spectra: Tensor, operand: Tensor, out_channels: int) -> Tensor:
    """Σ over input channels and neighbouring scales of spectra × kernel spectra.

    spectra: [b, C, S_in, J, K, R] (S_in = 1 when every output scale sees the
    same input); operand: from ``_kernel_operand``. Returns [b, O, S, K, R].
    """
    batch, in_channels, in_scales, span, freqs, rows = spectra.shape
    if operand.dim() == 4:
        return spectra[:, :, :, 0] * operand[None]
    depth = in_channels * span
    if in_scales == 1:
        lhs = spectra[:, :, 0].reshape(batch, depth, freqs * rows).permute(2, 0, 1)
        product = torch.bmm(lhs, operand).reshape(freqs, rows, batch, -1, out_channels)
        return product.permute(2, 4, 3, 0, 1)
    lhs = spectra.permute(2, 4, 5, 0, 1, 3).reshape(in_scales * freqs * rows, batch, depth)
    product = torch.bmm(lhs, operand).reshape(in_scales, freqs, rows, batch, out_channels)
    return product.permute(3, 4, 0, 1, 2)


def _forward_transform(x: Tensor, half: int, rows: int, cols: int) -> Tensor:
    """[..., H, W] real → [..., cols//2+1, rows] spectrum of x shifted by ``half``
    px down and right; every 1-D FFT runs along the contiguous last axis."""
    shifted = F.pad(x, (half, 0, half, 0))
    along_rows = torch.fft.rfft(shifted, n=cols, dim=-1)
    return torch.fft.fft(along_rows.transpose(-1, -2), n=rows, dim=-1)


def _inverse_transform(spectra: Tensor, height: int, width: int, cols: int, stride: int) -> Tensor:
    """[..., cols//2+1, rows] spectrum → [..., H', W'] real, keeping the rows
    and columns of the "same"-padded output (every ``stride``-th)."""
    columns = torch.fft.ifft(spectra, dim=-1)[..., :height:stride]
    return torch.fft.irfft(columns.transpose(-1, -2), n=cols, dim=-1)[..., :width:stride]


def chunk_size(batch: int, sample_bytes: int, kernel_bytes: int) -> int:
    """Samples per chunk: spectra of a chunk fit in ``CACHE_BYTES``, yet the
    chunk is large enough that re-reading the kernel spectra costs at most as
    much as the chunk itself."""
    fits = CACHE_BYTES // max(sample_bytes, 1)
    amortises = -(-kernel_bytes // max(sample_bytes, 1))
    return max(1, min(batch, max(fits, amortises)))


def separable_scale_conv(x: Tensor, weight: Tensor, basis: SeparableBasis, stride: int = 1) -> Tensor:
    """Scale convolution of ``x`` with kernels Σ_f w_f ψ_f(·; S_s).

    x: [B, C, S_in, H, W] with S_in = 1 (one input for every output scale) or
    S_in = S (output scale s reads input scales s … s+J−1, zero past the last);
    weight: [O, C, J, F]. Returns [B, O, S, ceil(H/stride), ceil(W/stride)] in
    x's dtype. float16 and bfloat16 are computed in float32 (CPU FFTs take
    neither) and the result is cast back.

    Raises RuntimeError under ``torch.jit.trace``: the FFT lengths follow the
    input size, which a trace would freeze (``sesn.nn.export`` gives a
    traceable module).
    """
    if torch.jit.is_tracing():
        raise RuntimeError(
            "the separable path cannot be traced by torch.jit.trace (its FFT lengths follow the input size); "
            "trace with path='direct' or trace sesn.nn.export.export(module)"
        )
    out_dtype = x.dtype
    work_dtype = torch.promote_types(x.dtype, torch.float32)
    x, weight = x.to(work_dtype), weight.to(work_dtype)
    basis = basis._replace(atoms=basis.atoms.to(work_dtype))
    batch, in_channels, in_scales, height, width = x.shape
    out_channels, _, span, _ = weight.shape
    n_scales, size = basis.atoms.shape[0], basis.atoms.shape[-1]
    rows, cols = padded_length(height, size, real=False), padded_length(width, size, real=True)
    kernels = kernel_spectra(weight, basis, rows, cols)
    operand = _kernel_operand(kernels, shared_input=in_scales == 1)
    half = size // 2
    freqs = cols // 2 + 1
    sample_bytes = kernels.element_size() * rows * freqs * (in_channels * in_scales + out_channels * n_scales)
    step = chunk_size(batch, sample_bytes, kernels.numel() * kernels.element_size())
    pieces = []
    for start in range(0, batch, step):
        spectra = _forward_transform(x[start : start + step], half, rows, cols)
        if in_scales == 1:
            spectra = spectra[:, :, :, None]  # [b, C, 1, 1, K, R]
        else:  # windows of `span` neighbouring scales, zero past the largest
            padded = F.pad(spectra, (0, 0, 0, 0, 0, span - 1))
            spectra = padded.unfold(2, span, 1).permute(0, 1, 2, 5, 3, 4)
        combined = _combine(spectra, operand, out_channels)
        pieces.append(_inverse_transform(combined, height, width, cols, stride))
    return torch.cat(pieces).to(out_dtype)
