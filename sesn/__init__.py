"""PyTorch half of scaletol: Hermite-basis scale convolutions with fixed or
learnable internal scales, the thesis's datasets, training and evaluation."""

from scaletol import __version__ as __version__
