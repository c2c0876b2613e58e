"""PyTorch half of scaletol: Hermite-basis scale convolutions with fixed or
learnable internal scales, the thesis's datasets, training and evaluation.

The building blocks of a scale-equivariant network are importable from here
(see the README, "Use sesn in your own network"). They load torch on first
use, so torch-free modules such as ``sesn.train.config`` import without it.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from scaletol import __version__ as __version__

if TYPE_CHECKING:
    from sesn.models import MODELS, make_model
    from sesn.nn.equivariance import check_equivariance, smooth_noise
    from sesn.nn.export import FrozenScales, export
    from sesn.nn.layers import ScaleBatchNorm, ScaleConv1x1, ScaleConvHH, ScaleConvZ2H, ScaleProjection
    from sesn.nn.scales import InternalScales, scale_parameters
    from sesn.nn.state import StateMismatchError

# public name -> the module that defines it
_HOMES = {
    **dict.fromkeys(("MODELS", "make_model"), "sesn.models"),
    **dict.fromkeys(("check_equivariance", "smooth_noise"), "sesn.nn.equivariance"),
    **dict.fromkeys(
        ("ScaleBatchNorm", "ScaleConv1x1", "ScaleConvHH", "ScaleConvZ2H", "ScaleProjection"), "sesn.nn.layers"
    ),
    **dict.fromkeys(("InternalScales", "scale_parameters"), "sesn.nn.scales"),
    "StateMismatchError": "sesn.nn.state",
    **dict.fromkeys(("FrozenScales", "export"), "sesn.nn.export"),
}

__all__ = [
    "MODELS",
    "FrozenScales",
    "InternalScales",
    "ScaleBatchNorm",
    "ScaleConv1x1",
    "ScaleConvHH",
    "ScaleConvZ2H",
    "ScaleProjection",
    "StateMismatchError",
    "__version__",
    "check_equivariance",
    "export",
    "make_model",
    "scale_parameters",
    "smooth_noise",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'sesn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
