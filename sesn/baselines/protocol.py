"""The MNIST-Scale protocol every network of thesis Table 5 shares (App. B.2,
after SESN): 28×28 digits upsampled ×2, three convolution blocks with 2×2,
2×2 and 8×8 (padding 2) spatial max pools, then ``head`` on the 2×2 map.
``ProtocolNet`` is that network for any convolution mapping [B, C, H, W] to
[B, O, H, W].
"""

from collections.abc import Callable

from torch import Tensor, nn

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


def blocks(conv: Callable[[int, int], nn.Module], channels=CHANNELS, *, relu: bool = True) -> nn.Sequential:
    """Upsample ×2 → three blocks conv(C_in, C_out) (→ ReLU) → max pool (2, 2,
    ``final_pool``) → BatchNorm2d: [B, 1, 28, 28] → [B, channels[2], 2, 2].
    ``relu`` False for convolutions that end in their own ReLU."""
    layers: list[nn.Module] = [nn.Upsample(scale_factor=2)]
    pools = (nn.MaxPool2d(2), nn.MaxPool2d(2), final_pool())
    for c_in, c_out, pool in zip((1, *channels[:2]), channels, pools):
        layers += [conv(c_in, c_out), *([nn.ReLU()] if relu else []), pool, nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers)


class ProtocolNet(nn.Module):
    """``blocks`` of ``conv`` → ``head``: [B, 1, 28, 28] → logits [B, 10]."""

    def __init__(self, conv: Callable[[int, int], nn.Module], channels=CHANNELS, *, relu=True, dropout=DROPOUT):
        super().__init__()
        self.features = blocks(conv, channels, relu=relu)
        self.head = head(4 * channels[-1], dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).flatten(1))
