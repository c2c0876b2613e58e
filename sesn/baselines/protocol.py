"""The MNIST-Scale protocol every network of thesis Table 5 shares (App. B.2,
after SESN): 28×28 digits upsampled ×2, three convolution blocks with 2×2,
2×2 and 8×8 (padding 2) spatial max pools, then ``head`` on the 2×2 map.
"""

from torch import nn

CHANNELS = (32, 63, 95)  # output channels of the three blocks (the CNN's; 7×7 kernels)
KERNEL_SIZE = 7  # px
HIDDEN = 256
DROPOUT = 0.7


def head(in_features: int, dropout: float = DROPOUT) -> nn.Sequential:
    """Linear(in_features → 256, no bias) → BN → ReLU → Dropout → Linear(256, 10):
    [B, in_features] → logits [B, 10]."""
    return nn.Sequential(
        nn.Linear(in_features, HIDDEN, bias=False),
        nn.BatchNorm1d(HIDDEN),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(HIDDEN, 10),
    )


def final_pool() -> nn.MaxPool2d:
    """The third block's pool: 14×14 → 2×2 (kernel 8, padding 2)."""
    return nn.MaxPool2d(8, padding=2)
