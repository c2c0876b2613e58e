"""The internal-scale tolerance model (NumPy/SciPy only; never imports torch).

A data scale distribution on the log2 axis, padded with half-normal tails, is
approximated by an equal-weight mixture of normals (one per internal scale, std
τ octaves) fitted by KL minimisation (thesis §3.2).

```python
import tolerance

advice = tolerance.suggest(tolerance.make_distribution("loguniform", 1, 8), ns=3)
print(advice.report())
```

The plotting functions load on first use, so `import tolerance` stays light
(no matplotlib, pandas or xarray).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from scaletol import __version__
from tolerance.distributions import (
    LogNormal,
    LogUniform,
    ScaleDistribution,
    TruncNormal,
    Uniform,
    make_distribution,
    make_distributions,
)
from tolerance.empirical import Empirical
from tolerance.errors_fit import fit_tau_from_errors
from tolerance.errors_io import ModelErrors, read_errors
from tolerance.fit import combined_fit, suggest, suggest_ns
from tolerance.result import CombinedFit, FitResult, NsScan, Suggestion, TauFromErrors

if TYPE_CHECKING:
    from tolerance.plot import plot_combined, plot_errors_fit, plot_ns_scan, plot_suggestion, plot_suggestions

_LAZY = dict.fromkeys(
    ("plot_combined", "plot_errors_fit", "plot_ns_scan", "plot_suggestion", "plot_suggestions"), "tolerance.plot"
)

__all__ = [
    "CombinedFit",
    "Empirical",
    "FitResult",
    "LogNormal",
    "LogUniform",
    "ModelErrors",
    "NsScan",
    "ScaleDistribution",
    "Suggestion",
    "TauFromErrors",
    "TruncNormal",
    "Uniform",
    "__version__",
    "combined_fit",
    "fit_tau_from_errors",
    "make_distribution",
    "make_distributions",
    "plot_combined",
    "plot_errors_fit",
    "plot_ns_scan",
    "plot_suggestion",
    "plot_suggestions",
    "read_errors",
    "suggest",
    "suggest_ns",
]


def __getattr__(name: str) -> Any:
    """Load the plotting functions on first use."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
