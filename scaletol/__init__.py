"""Torch-free facts shared by `tolerance` and `sesn`: atomic file writes, the
results-file layout, figures of training results, and input validation."""

import importlib.metadata

__version__: str = importlib.metadata.version("scaletol")
