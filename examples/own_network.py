"""Use sesn in your own network: from observed object sizes to a trained,
saved, reloaded and checked two-layer scale-equivariant model.

    python examples/own_network.py [--steps 40] [--out runs/own_network.pt]

The data are synthetic: discs (class 0) and rings (class 1) whose diameters,
6 to 18 px, play the role of the object sizes one would measure in one's own
images (e.g. sqrt(w·h) of annotation boxes). Runs in seconds on a CPU.
"""

from __future__ import annotations

import math
from pathlib import Path

import click
import numpy as np
import torch
from torch import nn

import sesn
from tolerance.empirical import Empirical
from tolerance.fit import suggest

REF_SIZE = 6.0  # px: the object size that data scale 1 stands for (here the smallest object)
SIGMA_UNIT = 0.6  # px: the basis σ that suits data scale 1, REF_SIZE / 10 as MNIST's 2 px for 20-px digits
IMAGE = 32  # px


def observed_sizes(n: int, rng: np.random.Generator) -> np.ndarray:
    """Object sizes (px) as one would measure them: log-uniform in [6, 18]."""
    return np.exp(rng.uniform(math.log(6), math.log(18), n))


def shapes(sizes: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """[N, 1, IMAGE, IMAGE] discs and rings of the given diameters (px) at
    random positions, and their labels [N] (0 disc, 1 ring)."""
    labels = rng.integers(0, 2, len(sizes))
    y, x = np.mgrid[:IMAGE, :IMAGE]
    images = np.zeros((len(sizes), 1, IMAGE, IMAGE), dtype=np.float32)
    for image, size, label in zip(images, sizes, labels):
        radius = size / 2
        cy, cx = rng.uniform(radius, IMAGE - radius, 2)
        distance = np.hypot(y - cy, x - cx)
        inside = np.clip(radius - distance + 0.5, 0, 1)  # anti-aliased disc
        if label == 1:
            inside *= np.clip(distance - 0.6 * radius + 0.5, 0, 1)  # hollow it out
        image[0] = inside
    return torch.from_numpy(images), torch.from_numpy(labels)


class TwoLayerNet(nn.Module):
    """Z2→H → ReLU → H→H → ReLU → max over scales and space → linear.
    [B, 1, H, W] → logits [B, 2]; invariant to scale and translation."""

    def __init__(self, scales: sesn.InternalScales, channels: int = 4):
        super().__init__()
        self.scales = scales  # registered here and in both layers: the state dict holds it once
        self.lift = sesn.ScaleConvZ2H(1, channels, scales, eff=3, bias=True)
        self.group = sesn.ScaleConvHH(channels, channels, scales, eff=3, bias=True)
        self.project = sesn.ScaleProjection("max")
        self.classify = nn.Linear(channels, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.project(torch.relu(self.group(torch.relu(self.lift(x)))))
        return self.classify(features.amax(dim=(-2, -1)))


def run(steps: int = 40, out: str | Path = "runs/own_network.pt", seed: int = 0) -> dict:
    """The whole road; returns what it printed, for the tests."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)

    # 1. observed sizes → data scales → suggested internal scales
    data_scales = observed_sizes(500, rng) / REF_SIZE
    suggestion = suggest(Empirical(data_scales), ns=3, sigma_unit=SIGMA_UNIT)
    print(suggestion.report())

    # 2. the suggestion as learnable scales (ratio: 1 + γ² between neighbours)
    scales = sesn.InternalScales.from_suggestion(suggestion, mode="ratio")
    model = TwoLayerNet(scales)
    initial = scales.values
    print(f"initial scales {[round(s, 3) for s in initial]} px, kernel {model.lift.kernel_size} px")

    # 3. train: the scales in their own parameter group
    images, labels = shapes(observed_sizes(256, rng), rng)
    scale_ids = {id(p) for p in sesn.scale_parameters(model)}
    weights = [p for p in model.parameters() if id(p) not in scale_ids]
    optimiser = torch.optim.Adam(
        [{"params": weights, "lr": 0.03}, {"params": sesn.scale_parameters(model), "lr": 0.01}]
    )
    losses = []
    for _ in range(steps):
        batch = torch.from_numpy(rng.choice(len(images), 16, replace=False))
        loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    test_images, test_labels = shapes(observed_sizes(64, rng), rng)
    with torch.no_grad():
        accuracy = float((model(test_images).argmax(1) == test_labels).float().mean())
    print(f"loss {np.mean(losses[:5]):.3f} → {np.mean(losses[-5:]):.3f}; test accuracy {accuracy:.3f}")
    print(f"learned scales {[round(s, 3) for s in scales.values]} px, kernel {model.lift.kernel_size} px")

    # 4. save and reload: the state carries N_S and the parameterisation
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out)
    reloaded = TwoLayerNet(sesn.InternalScales.from_suggestion(suggestion, mode="ratio"))
    reloaded.load_state_dict(torch.load(out, weights_only=True))
    assert reloaded.scales.values == scales.values
    try:
        TwoLayerNet(sesn.InternalScales.from_suggestion(suggestion, mode="isr")).load_state_dict(model.state_dict())
    except sesn.StateMismatchError as error:
        print(f"refused: {error}")

    # 5. how scale-equivariant the trained lifting layer is: Δ per scale for
    # an input downscaled by the ratio of two neighbouring scales
    factor = scales.values[1] / scales.values[0]
    errors = sesn.check_equivariance(model.lift, sesn.smooth_noise(64), factor=factor)
    print(f"equivariance error of the first layer at factor {factor:.3f}: {errors}")
    return {"losses": losses, "accuracy": accuracy, "initial": initial, "scales": scales.values, "errors": errors}


@click.command(help=__doc__)
@click.option("--steps", type=click.IntRange(min=1), default=40, show_default=True, help="Adam steps.")
@click.option("--out", type=click.Path(dir_okay=False), default="runs/own_network.pt", show_default=True)
def main(steps: int, out: str) -> None:
    run(steps, out)


if __name__ == "__main__":
    main()
