"""PyTorch half of scaletol: Hermite-basis scale convolutions with fixed or
learnable internal scales, the thesis's datasets, training and evaluation.

``import sesn`` imports torch. The building blocks of a scale-equivariant
network are importable from here; see the README, "Use sesn in your own
network".
"""

from scaletol import __version__ as __version__
from sesn.models import MODELS, make_model
from sesn.nn.equivariance import check_equivariance, smooth_noise
from sesn.nn.layers import ScaleBatchNorm, ScaleConv1x1, ScaleConvHH, ScaleConvZ2H, ScaleProjection
from sesn.nn.scales import InternalScales, scale_parameters
from sesn.nn.state import StateMismatchError

__all__ = [
    "__version__",
    "MODELS",
    "InternalScales",
    "ScaleBatchNorm",
    "ScaleConv1x1",
    "ScaleConvHH",
    "ScaleConvZ2H",
    "ScaleProjection",
    "StateMismatchError",
    "check_equivariance",
    "make_model",
    "scale_parameters",
    "smooth_noise",
]
