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
reads past the end land in the l//2 zeros before the shifted input.

The batch is processed in chunks (``chunk_size``): on the CPU chunks whose
spectra fit in cache (``CACHE_BYTES``); on a GPU, where launches are costly
and there is no such cache to aim at, chunks whose spectra stay below
``DEVICE_CHUNK_BYTES``, which bounds the memory a call takes beyond its input
and output, as on the CPU. With ``max_over_scales`` the output itself is the
max, so memory no longer grows with the scales.
"""

import torch
import torch.nn.functional as F
from scipy.fft import next_fast_len
from torch import Tensor

from sesn.nn.basis import SeparableBasis

CACHE_BYTES = 16 * 2**20  # CPU: working set aimed at per chunk (within a 32 MiB L3 cache)
DEVICE_CHUNK_BYTES = 256 * 2**20  # GPU: spectra per chunk at most (the toy network: 36 samples)


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


def _inverse_rows(spectra: Tensor, height: int, cols: int, stride: int) -> Tensor:
    """[..., cols//2+1, rows] spectrum → [..., H', cols] real: the kept rows
    (every ``stride``-th of the first H) at every column of the FFT grid."""
    columns = torch.fft.ifft(spectra, dim=-1)[..., :height:stride]
    return torch.fft.irfft(columns.transpose(-1, -2), n=cols, dim=-1)


def _inverse_transform(spectra: Tensor, height: int, width: int, cols: int, stride: int) -> Tensor:
    """[..., cols//2+1, rows] spectrum → [..., H', W'] real, keeping the rows
    and columns of the "same"-padded output (every ``stride``-th)."""
    return _inverse_rows(spectra, height, cols, stride)[..., :width:stride]


def _grid_spectrum(grad: Tensor, height: int, width: int, rows: int, cols: int, stride: int) -> Tensor:
    """[..., H', W'] real, placed on every ``stride``-th pixel of the rows × cols
    grid (zero elsewhere) → its 2-D real FFT [..., rows, cols//2+1]."""
    if stride > 1:
        spread = grad.new_zeros(*grad.shape[:-2], height, width)
        spread[..., ::stride, ::stride] = grad
        grad = spread
    return torch.fft.rfft2(grad, s=(rows, cols))


def _adjoint_weights(rows: int, cols: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """[cols//2+1] factors that turn a grid spectrum into the adjoint of
    ``_inverse_transform``: 1/(rows·cols) (the inverse's normalisation), doubled
    at the column frequencies whose conjugates the one-sided spectrum leaves
    out (all but 0 and, for even ``cols``, cols/2)."""
    weights = torch.full((cols // 2 + 1,), 2.0 / (rows * cols), dtype=dtype, device=device)
    weights[0] = 1.0 / (rows * cols)
    if cols % 2 == 0:
        weights[-1] = 1.0 / (rows * cols)
    return weights


def _adjoint_inverse_transform(grad: Tensor, height: int, width: int, rows: int, cols: int, stride: int) -> Tensor:
    """The adjoint of ``_inverse_transform``: [..., H', W'] real → [..., cols//2+1, rows]."""
    spectrum = _grid_spectrum(grad, height, width, rows, cols, stride)
    weighted = spectrum * _adjoint_weights(rows, cols, grad.dtype, grad.device)
    return weighted.transpose(-1, -2).contiguous()


def _first_max(y: Tensor, width: int, stride: int, best: Tensor, winners: Tensor | None) -> None:
    """Writes the max over dim 2 of y [b, O, S, H', cols] (``_inverse_rows``)
    into ``best`` [b, O, H', W'] and, into ``winners`` (uint8 [b, O, H', W'],
    unless None), the index of the first scale that reaches it, keeping every
    ``stride``-th of the first ``width`` columns. One pass per scale, straight
    into ``best``: a running max and, where a scale beats it strictly, that
    scale's index (ties stay with the earlier scale)."""
    kept = y[..., :width:stride]
    if y.shape[2] == 1:
        best.copy_(kept[:, :, 0])
    peak, index = kept[:, :, 0], None
    for s in range(1, y.shape[2]):
        if winners is not None:
            beats = torch.gt(kept[:, :, s], peak).view(torch.uint8)  # 0 or 1
            index = beats if index is None else torch.maximum(index, beats.mul_(s))  # indices only grow
        peak = torch.maximum(peak, kept[:, :, s], out=best)
    if winners is not None:
        if index is None:  # one scale
            winners.zero_()
        else:
            winners.copy_(index)


def _route(grad: Tensor, winners: Tensor, n_scales: int) -> Tensor:
    """[b, O, H, W] gradient of a max over scales → [b, O, S, H, W], each
    value at its winning scale (``_first_max``), zero at the others."""
    routed = grad.new_zeros(grad.shape[0], grad.shape[1], n_scales, *grad.shape[2:])
    return routed.scatter(2, winners.long()[:, :, None], grad[:, :, None])


class _InverseMax(torch.autograd.Function):
    """``_inverse_transform`` of [b, O, S, K, R] spectra followed by the max
    over scales: [b, O, H', W']. Keeps only which scale won (one byte per
    output pixel) for the backward, which sends each gradient to the first
    maximal scale and through ``_adjoint_inverse_transform``. The backward is
    built of differentiable operations, linear in the incoming gradient, so
    double backward works (the second derivative in the spectra is zero)."""

    @staticmethod
    def forward(ctx, spectra: Tensor, height: int, width: int, cols: int, stride: int) -> Tensor:
        y = _inverse_rows(spectra, height, cols, stride)
        best = y.new_empty(*y.shape[:2], y.shape[3], -(-width // stride))
        winners = torch.empty(best.shape, dtype=torch.uint8, device=y.device)
        _first_max(y, width, stride, best, winners)
        ctx.save_for_backward(winners)
        ctx.sizes = (height, width, spectra.shape[-1], cols, stride, y.shape[2])
        return best

    @staticmethod
    def backward(ctx, grad: Tensor):
        (winners,) = ctx.saved_tensors
        height, width, rows, cols, stride, n_scales = ctx.sizes
        routed = _route(grad, winners, n_scales)
        return _adjoint_inverse_transform(routed, height, width, rows, cols, stride), None, None, None, None


def _lifted_max(x: Tensor, operand: Tensor, geometry: tuple[int, ...], keep_winners: bool) -> tuple[Tensor, Tensor]:
    """The forward of ``_LiftedMax``: (max [B, O, H', W'], index of the
    winning scale uint8 [B, O, H', W'], or an empty tensor unless ``keep_winners``)."""
    height, width, rows, cols, half, stride, step = geometry
    batch, out_channels = x.shape[0], operand.shape[0]
    best = x.new_empty(batch, out_channels, -(-height // stride), -(-width // stride))
    winners = torch.empty(best.shape if keep_winners else (0,), dtype=torch.uint8, device=x.device)
    for start in range(0, batch, step):
        spectra = _forward_transform(x[start : start + step], half, rows, cols)  # [b, K, R]
        y = _inverse_rows(spectra[:, None, None] * operand, height, cols, stride)
        chunk_winners = winners[start : start + step] if keep_winners else None
        _first_max(y, width, stride, best[start : start + step], chunk_winners)
    return best, winners


class _LiftedMax(torch.autograd.Function):
    """Lifting convolution of a one-channel input followed by the max over
    scales, for the whole batch: x [B, H, W] and kernel spectra [O, S, K, R]
    → [B, O, H', W'], chunk by chunk (``step`` samples) from the input's
    spectrum to the max, which is written into the output directly.

    For the backward it keeps the input and which scale won (one byte per
    output pixel); per chunk it routes the gradient to the winning scales,
    takes their grid spectra and accumulates the kernel spectra's gradient
    Σ_b Ĝ·conj(X̂) in the grid spectra's own layout, weighted and transposed
    once at the end (``_adjoint_weights``). The input's gradient, when asked
    for, is the inverse transform of Σ Ĝ·conj(kernel spectra), cut at the
    input's place. The backward is linear in the incoming gradient; under
    ``create_graph`` (and torch.compile) it is built of differentiable,
    functional operations, so double backward works."""

    @staticmethod
    def forward(ctx, x: Tensor, operand: Tensor, geometry: tuple[int, ...]) -> Tensor:
        best, winners = _lifted_max(x, operand, geometry, keep_winners=True)
        ctx.save_for_backward(x, operand, winners)
        ctx.geometry = geometry
        return best

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, operand, winners = ctx.saved_tensors
        height, width, rows, cols, half, stride, step = ctx.geometry
        operand_rk = operand.transpose(-1, -2)  # [O, S, R, K]: the grid spectra's layout
        grad_operand = operand_rk.new_zeros(operand_rk.shape) if ctx.needs_input_grad[1] else None  # contiguous
        grad_x, grid = [], None
        for start in range(0, x.shape[0], step):
            chunk = slice(start, start + step)
            upstream, won = grad[chunk], winners[chunk]
            if torch.is_grad_enabled() or torch.compiler.is_compiling():  # double backward, compile: functional
                routed = _route(upstream, won, operand.shape[1])
                spectrum = _grid_spectrum(routed, height, width, rows, cols, stride)  # [b, O, S, R, K]
            else:  # routed straight onto a zero grid that every chunk reuses
                if grid is None:
                    grid = grad.new_zeros(min(step, x.shape[0]), *operand.shape[:2], rows, cols)
                block = grid[: len(upstream)]
                kept = block[..., :height:stride, :width:stride]
                kept.zero_()
                kept.scatter_(2, won.long()[:, :, None], upstream[:, :, None])
                spectrum = torch.fft.rfft2(block)
            if grad_operand is not None:
                shifted = F.pad(x[chunk], (half, 0, half, 0))
                x_hat = torch.fft.rfft2(shifted, s=(rows, cols)).conj().resolve_conj()  # [b, R, K]
                for sample, conjugate in zip(spectrum, x_hat):
                    grad_operand.addcmul_(sample, conjugate)
            if ctx.needs_input_grad[0]:
                product = (spectrum * operand_rk.conj()).sum(dim=(1, 2))  # [b, R, K]
                field = torch.fft.irfft2(product, s=(rows, cols))
                grad_x.append(field[:, half : half + height, half : half + width])
        if grad_operand is not None:
            grad_operand = (grad_operand * _adjoint_weights(rows, cols, x.dtype, x.device)).transpose(-1, -2)
        return (torch.cat(grad_x) if grad_x else None), grad_operand, None


def chunk_size(batch: int, sample_bytes: int, kernel_bytes: int, budget: int | None = None) -> int:
    """Samples per chunk: spectra of a chunk fit in ``budget`` bytes
    (default ``CACHE_BYTES``), yet the chunk is large enough that re-reading
    the kernel spectra costs at most as much as the chunk itself."""
    fits = (CACHE_BYTES if budget is None else budget) // max(sample_bytes, 1)
    amortises = -(-kernel_bytes // max(sample_bytes, 1))
    return max(1, min(batch, max(fits, amortises)))


def chunk_budget(device: torch.device) -> int:
    """Bytes of spectra per chunk: ``CACHE_BYTES`` on the CPU, ``DEVICE_CHUNK_BYTES`` elsewhere."""
    return CACHE_BYTES if device.type == "cpu" else DEVICE_CHUNK_BYTES


def separable_scale_conv(
    x: Tensor, weight: Tensor, basis: SeparableBasis, stride: int = 1, max_over_scales: bool = False
) -> Tensor:
    """Scale convolution of ``x`` with kernels Σ_f w_f ψ_f(·; S_s).

    x: [B, C, S_in, H, W] with S_in = 1 (one input for every output scale) or
    S_in = S (output scale s reads input scales s … s+J−1, zero past the last);
    weight: [O, C, J, F]. Returns [B, O, S, ceil(H/stride), ceil(W/stride)] in
    x's dtype, or with ``max_over_scales`` its max over the scale axis
    [B, O, H', W'], taken chunk by chunk so that the full output is never
    stored (the gradient goes to the first maximal scale). float16 and
    bfloat16 are computed in float32 (CPU FFTs take neither) and the result is
    cast back.

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
    step = chunk_size(batch, sample_bytes, kernels.numel() * kernels.element_size(), chunk_budget(x.device))
    pieces = []
    if max_over_scales and operand.dim() == 4:  # one input channel
        geometry = (height, width, rows, cols, half, stride, step)
        if torch.is_grad_enabled() and (x.requires_grad or operand.requires_grad):
            return _LiftedMax.apply(x[:, 0, 0], operand, geometry).to(out_dtype)
        return _lifted_max(x[:, 0, 0], operand, geometry, keep_winners=False)[0].to(out_dtype)
    for start in range(0, batch, step):
        spectra = _forward_transform(x[start : start + step], half, rows, cols)
        if in_scales == 1:
            spectra = spectra[:, :, :, None]  # [b, C, 1, 1, K, R]
        else:  # windows of `span` neighbouring scales, zero past the largest
            padded = F.pad(spectra, (0, 0, 0, 0, 0, span - 1))
            spectra = padded.unfold(2, span, 1).permute(0, 1, 2, 5, 3, 4)
        combined = _combine(spectra, operand, out_channels)
        if not max_over_scales:
            pieces.append(_inverse_transform(combined, height, width, cols, stride))
        elif torch.is_grad_enabled() and combined.requires_grad:
            pieces.append(_InverseMax.apply(combined, height, width, cols, stride))
        else:
            pieces.append(_inverse_transform(combined, height, width, cols, stride).amax(dim=2))
    return torch.cat(pieces).to(out_dtype)
