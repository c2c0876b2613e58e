"""Which path a scale convolution runs: a cost rule, refined by measurement.

The rule (``choose_path``) counts the floating-point operations of a forward
pass on either path, including the work that does not grow with the batch
(building the kernels or their spectra); the backward pass costs about twice
the forward on either path, so it cancels. The separable path does far fewer
operations on large kernels, but FFTs and complex products run well below the
FLOP rate of a direct convolution, so its three parts are weighted by
``SEPARABLE_PENALTIES``, fitted (least squares in the log of the time ratio)
to a first, larger-shaped run of ``benchmarks/path_choice.py`` on the 2-core
CPU. On the run of the reduced grid the rule's ratio is within 5.6× of the
measured one, and wherever it lies outside the measuring zone it picks the
faster path.

``path="auto"`` layers call ``pick_path``: like ``cudnn.benchmark``, the first
call with a new shape signature (device, dtype and autocast dtype, grad mode, input shape, kernel
size, stride, layer sizes) times both paths once, when the rule's two weighted
estimates lie within a factor ``MEASURE_WITHIN`` of each other, and remembers
the faster for the rest of the process; far from the boundary the rule decides
alone. Nothing is measured under ``torch.compile`` or ``torch.jit.trace``, nor
with ``benchmark = False``. Both paths compute the same function, so the choice
changes speed, never the result (up to float rounding).
"""

import math
import time
from collections.abc import Callable, Hashable

from sesn.nn.separable import padded_length

PATHS = ("auto", "direct", "separable")
# time per operation relative to the direct convolution's: FFTs, per-frequency
# products (batched complex matmuls), kernel spectra (complex einsums)
SEPARABLE_PENALTIES = (16.0, 4.5, 3.5)
MEASURE_WITHIN = 3.0

benchmark = True  # measure near the boundary (False: the rule alone decides)
_measured: dict[Hashable, str] = {}


def direct_flops(batch, in_channels, span, out_channels, n_scales, height, width, size, stride=1, functions=1):
    """Operations of the direct path: every output pixel of every scale sums
    C·J·l² products, after the kernels are built from ``functions`` basis
    functions (once per call, whatever the batch)."""
    out_pixels = -(-height // stride) * -(-width // stride)
    kernels = 2 * n_scales * out_channels * in_channels * span * functions * size * size
    return 2 * batch * n_scales * out_channels * in_channels * span * out_pixels * size * size + kernels


def separable_flops(
    batch, in_channels, in_scales, span, out_channels, n_scales, height, width, size, atoms=1, functions=1
) -> tuple[float, float, float]:
    """Operations of ``sesn.nn.separable.separable_scale_conv``, in three
    parts: (FFTs of every input and output image, per-frequency products, the
    kernel spectra assembled from ``atoms`` 1-D atoms per scale once per call)."""
    rows, cols = padded_length(height, size, real=False), padded_length(width, size, real=True)
    freqs = cols // 2 + 1
    transform = 2.5 * rows * cols * math.log2(rows * cols)  # one real 2-D FFT
    transforms = batch * (in_channels * in_scales + out_channels * n_scales) * transform
    products = 8 * batch * n_scales * rows * freqs * in_channels * span * out_channels
    weights = out_channels * in_channels * span
    kernels = 8 * weights * n_scales * atoms * freqs * (atoms + rows) + 2 * weights * functions
    return transforms, products, kernels


def weighted_costs(
    batch,
    in_channels,
    in_scales,
    span,
    out_channels,
    n_scales,
    height,
    width,
    size,
    stride=1,
    atoms=1,
    functions=1,
) -> tuple[float, float]:
    """(direct, weighted separable) operation counts; arguments as ``choose_path``."""
    direct = direct_flops(batch, in_channels, span, out_channels, n_scales, height, width, size, stride, functions)
    parts = separable_flops(
        batch, in_channels, in_scales, span, out_channels, n_scales, height, width, size, atoms, functions
    )
    return direct, sum(p * w for p, w in zip(parts, SEPARABLE_PENALTIES))


def choose_path(
    batch, in_channels, in_scales, span, out_channels, n_scales, height, width, size, stride=1, atoms=1, functions=1
) -> str:
    """The rule: "separable" when its weighted cost is below the direct one, else "direct".

    in_scales: 1 when all output scales read one input (lifting layer), else
    n_scales; span: input scales mixed per output scale; size: kernel size l
    (px); atoms: 1-D atoms per scale; functions: basis functions.
    """
    direct, separable = weighted_costs(
        batch, in_channels, in_scales, span, out_channels, n_scales, height, width, size, stride, atoms, functions
    )
    return "separable" if separable < direct else "direct"


def pick_path(key: Hashable, costs: tuple[float, float], run_path: Callable[[str], None] | None) -> str:
    """The path for the shape signature ``key``: a remembered measurement, a
    new one (``run_path(path)`` runs one call) when ``costs`` (direct,
    weighted separable) are within ``MEASURE_WITHIN``, else the rule's pick.
    run_path None: do not measure (compiling, tracing)."""
    if key in _measured:
        return _measured[key]
    direct, separable = costs
    rule = "separable" if separable < direct else "direct"
    if run_path is None or not benchmark or max(costs) > MEASURE_WITHIN * min(costs):
        return rule
    _measured[key] = _faster(rule, "direct" if rule == "separable" else "separable", run_path)
    return _measured[key]


def _faster(favourite: str, other: str, run_path: Callable[[str], None]) -> str:
    """The faster of two paths in few calls: the favourite's second call (the
    first carries one-off costs) against the other's first; only when that
    first call is already faster does the other get a second, deciding call."""
    _seconds(run_path, favourite)
    best = _seconds(run_path, favourite)
    if _seconds(run_path, other) > best:
        return favourite
    return other if _seconds(run_path, other) < best else favourite


def _seconds(run_path: Callable[[str], None], path: str) -> float:
    start = time.perf_counter()
    run_path(path)
    return time.perf_counter() - start


def measured_choices() -> dict[Hashable, str]:
    """A copy of the measured choices of this process, by shape signature."""
    return dict(_measured)


def forget_measurements() -> None:
    """Drop every measured choice (the next auto call with each shape measures again)."""
    _measured.clear()
