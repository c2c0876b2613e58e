"""Cost rule: run a scale convolution directly or separably (Fourier domain).

Both estimates count the floating-point operations of a forward pass; the
backward pass costs about twice as much on either path, so it cancels. The
separable path does far fewer operations on large kernels, but FFTs and
complex products run well below the FLOP rate of a direct convolution, so its
count is weighted by ``SEPARABLE_PENALTY``, measured with
``benchmarks/layers.py`` on the 2-core CPU (toy layer: 67× fewer FLOPs, 13×
faster; MNIST-Scale layer: 110× fewer FLOPs, 20×+ faster at batch 128).
"""

from sesn.nn.separable import separable_flops

PATHS = ("auto", "direct", "separable")
SEPARABLE_PENALTY = 12.0


def direct_flops(batch, in_channels, span, out_channels, n_scales, height, width, size, stride=1):
    """Operations of the direct convolution: every output pixel of every scale
    sums C·J·l² products."""
    out_pixels = -(-height // stride) * -(-width // stride)
    return 2 * batch * n_scales * out_channels * in_channels * span * out_pixels * size * size


def choose_path(batch, in_channels, in_scales, span, out_channels, n_scales, height, width, size, stride=1) -> str:
    """ "separable" when its weighted cost is below the direct one, else "direct".

    in_scales: 1 when all output scales read one input (lifting layer), else
    n_scales; span: input scales mixed per output scale; size: kernel size l.
    """
    direct = direct_flops(batch, in_channels, span, out_channels, n_scales, height, width, size, stride)
    separable = separable_flops(batch, in_channels, in_scales, span, out_channels, n_scales, height, width, size)
    return "separable" if SEPARABLE_PENALTY * separable < direct else "direct"
