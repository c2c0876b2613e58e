"""The thesis's networks, built by name (Table 1; App. B.2).

- `toy-<mode>`: the toy network of Table 1 for Dynamic Scale MNIST (168×168
  inputs), one scale convolution whose N_S internal scales follow `mode`
  (fixed, isr, ratio, spacings, direct); default σ_basis 2 px, ISR 3, N_S 3.
- `mnist-scale-cnn`: the plain CNN baseline for MNIST-Scale (28×28 inputs).
- `mnist-scale-sesn`: SESN with fixed Hermite scales 1.5 … 3.0 px, N_S 4
  (Table 6/7), basis B with sub-scale ratio mult 1.4 (SESN's and the thesis
  code's value for these scales).
- `mnist-scale-<mode>`: the same network with learnable scales, initialised
  like SESN (σ_basis 1.5, ISR 2, N_S 4). The thesis's "Learn ISR" rows are
  `mnist-scale-ratio` (its code's parameterisation); `-isr` is its Eq. 6.
- `mnist-scale-disco`: DISCO's MNIST-Scale network (Sosnovik et al. 2021) with
  the DISCO basis at fixed scales 1.8 · 2^(i/3) px, N_S 4 (thesis Table 6/7).

- `mnist-scale-<baseline>`: the scale-aware baselines of Table 5 (sicnn,
  siconvnet, sevf, dss, sscnn; ``sesn.baselines``), without InternalScales.

Every MNIST-Scale model has about 495k parameters (channels 32, 63, 95; 7×7
weights per filter: 49 pixels or 49 basis functions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import nn

from scaletol.checks import InputError, check_choice
from scaletol.datasets import DATASETS, MNIST_SCALE_MULT
from sesn.baselines import NETWORKS as BASELINES
from sesn.baselines.protocol import ProtocolNet, head
from sesn.nn.basis import BasisSpec
from sesn.nn.layers import ScaleBatchNorm, ScaleConvHH, ScaleConvZ2H, ScaleProjection, projected
from sesn.nn.norm_pool import relu_norm_pool
from sesn.nn.scales import InternalScales

SCALE_OPTIONS = ("ns", "sigma_basis", "isr", "scales", "learn_sigma")
LAYER_OPTIONS = ("k", "max_kernel")
LEARNABLE_MODES = ("isr", "ratio", "spacings", "direct")


class ToyNet(nn.Module):
    """Table 1: Z2→H scale conv (16 filters, basis A, 5×5 weights, no bias) →
    max over scales → ReLU → BatchNorm → 42×42 max pool → Linear(256, 10).
    Input [B, 1, 168, 168] → logits [B, 10]."""

    BASIS: dict[str, Any] = dict(basis="A", eff=5)
    OPTIONS = SCALE_OPTIONS + LAYER_OPTIONS

    def __init__(
        self,
        scales: InternalScales,
        *,
        filters: int = 16,
        k: float = 4.0,
        max_kernel: int | None = None,
        image_size: int = DATASETS["dynamic-mnist"].canvas,
        pool: int = 42,
    ):
        super().__init__()
        self.scales = scales
        self.conv = ScaleConvZ2H(1, filters, scales, **self.BASIS, k=k, max_kernel=max_kernel)
        self.project = ScaleProjection("max")
        self.norm = nn.BatchNorm2d(filters)
        self.pool = nn.MaxPool2d(pool)
        self.classify = nn.Linear(filters * (image_size // pool) ** 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the max over scales inside the convolution, then ReLU, norm and pool fused;
        # TorchScript (of an exported copy) sees plain modules
        if torch.jit.is_scripting():
            x = self.pool(self.norm(torch.relu(self.project(self.conv(x)))))
        else:
            x = relu_norm_pool(projected(self.project, self.conv, x), self.norm, self.pool)
        return self.classify(x.flatten(1))


class MnistScaleSESN(nn.Module):
    """App. B.2: upsample ×2 → three scale-conv blocks (Z2→H, H→H, H→H; basis
    B, 7×7 = 49 basis functions, sub-scale ratio `mult`, biases starting at
    zero; ReLU, 2×2 spatial max pool, scale batch norm) → max over scales →
    ReLU, 8×8 max pool → BN → head. Input [B, 1, 28, 28] → logits [B, 10]."""

    BASIS: dict[str, Any] = dict(basis="B", eff=7)
    OPTIONS = SCALE_OPTIONS + LAYER_OPTIONS + ("mult",)

    def __init__(
        self,
        scales: InternalScales,
        *,
        channels: tuple[int, int, int] = (32, 63, 95),
        k: float = 4.0,
        max_kernel: int | None = None,
        mult: float = MNIST_SCALE_MULT,
        dropout: float = 0.7,
    ):
        super().__init__()
        c1, c2, c3 = channels
        conv = dict(**self.BASIS, k=k, max_kernel=max_kernel, mult=mult, bias=True)
        self.scales = scales
        self.features = nn.Sequential(
            nn.Upsample(scale_factor=2),
            ScaleConvZ2H(1, c1, scales, **conv),
            nn.ReLU(),
            nn.MaxPool3d((1, 2, 2)),
            ScaleBatchNorm(c1),
            ScaleConvHH(c1, c2, scales, scale_size=1, **conv),
            nn.ReLU(),
            nn.MaxPool3d((1, 2, 2)),
            ScaleBatchNorm(c2),
            ScaleConvHH(c2, c3, scales, scale_size=1, **conv),
            ScaleProjection("max"),
            nn.ReLU(),
            nn.MaxPool2d(8, padding=2),
            nn.BatchNorm2d(c3),
        )
        self.head = head(4 * c3, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class MnistScaleDISCO(nn.Module):
    """DISCO's MNIST-Scale network (``mnist_disco``): MnistScaleSESN with basis
    "disco" (7×7 = 49 functions, 15-px kernels at ISR 2, sub-scale ratio
    `mult`, 1.5 in DISCO's MNIST-Scale runs), 2×2 spatial *average* pools, and
    after the max over scales ReLU → 7×7 max pool (stride 1) → 2×2 average pool
    (stride 4) → BN → head. Input [B, 1, 28, 28] → logits [B, 10]."""

    BASIS: dict[str, Any] = dict(basis="disco", eff=7)
    OPTIONS = SCALE_OPTIONS + ("max_kernel", "mult")

    def __init__(
        self,
        scales: InternalScales,
        *,
        channels: tuple[int, int, int] = (32, 63, 95),
        max_kernel: int | None = None,
        mult: float = 1.5,
        dropout: float = 0.7,
    ):
        super().__init__()
        c1, c2, c3 = channels
        conv = dict(**self.BASIS, max_kernel=max_kernel, mult=mult, bias=True)
        self.scales = scales
        self.features = nn.Sequential(
            nn.Upsample(scale_factor=2),
            ScaleConvZ2H(1, c1, scales, **conv),
            nn.ReLU(),
            nn.AvgPool3d((1, 2, 2)),
            ScaleBatchNorm(c1),
            ScaleConvHH(c1, c2, scales, scale_size=1, **conv),
            nn.ReLU(),
            nn.AvgPool3d((1, 2, 2)),
            ScaleBatchNorm(c2),
            ScaleConvHH(c2, c3, scales, scale_size=1, **conv),
            ScaleProjection("max"),
            nn.ReLU(),
            nn.MaxPool2d(7, stride=1),
            nn.AvgPool2d(2, stride=4),
            nn.BatchNorm2d(c3),
        )
        self.head = head(4 * c3, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class MnistScaleCNN(ProtocolNet):
    """The CNN baseline of Table 5: MnistScaleSESN with plain 7×7 convolutions."""

    def __init__(self, *, channels: tuple[int, int, int] = (32, 63, 95), dropout: float = 0.7):
        super().__init__(lambda c_in, c_out: nn.Conv2d(c_in, c_out, 7, padding=3), channels, dropout=dropout)


@dataclass(frozen=True)
class ModelSpec:
    """A named model: which dataset it reads, its scale mode (None for a
    network without InternalScales), the defaults of its internal scales and
    its network class (by default the thesis's network for the dataset)."""

    name: str
    dataset: str
    mode: str | None
    scale_defaults: dict = field(default_factory=dict)
    network_class: type[nn.Module] | None = None

    @property
    def network(self) -> type[nn.Module]:
        if self.network_class is not None:
            return self.network_class
        if self.mode is None:
            return MnistScaleCNN
        return ToyNet if self.dataset == "dynamic-mnist" else MnistScaleSESN

    def _split(self, options: dict) -> tuple[dict, dict]:
        """(InternalScales settings, network settings) from `options`."""
        allowed = getattr(self.network, "OPTIONS", ())
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise InputError(f"model {self.name!r} takes no option(s) {', '.join(unknown)}")
        settings = {**self.scale_defaults, **options}
        layer = {k: settings.pop(k) for k in LAYER_OPTIONS + ("mult",) if k in settings}
        if self.mode == "fixed":
            settings.pop("learn_sigma", None)
        return settings, layer

    def check(self, **options: Any) -> None:
        """Raise InputError for options `build` would reject, including
        kernels past ``sesn.nn.basis.KERNEL_SIZE_LIMIT``, without building the
        network (no weights drawn, nothing allocated)."""
        settings, layer = self._split(options)
        if self.mode is None:
            return
        scales = InternalScales(mode=self.mode, **settings)
        mult = layer.get("mult", MNIST_SCALE_MULT)
        basis = cast(type[ToyNet] | type[MnistScaleSESN] | type[MnistScaleDISCO], self.network).BASIS
        spec = BasisSpec(basis["basis"], basis["eff"], layer.get("k", 4.0), layer.get("max_kernel"), mult)
        spec.full_kernel_size(max(scales.values), min(scales.values))

    def build(self, **options: Any) -> nn.Module:
        if self.mode is None:
            self._split(options)
            return self.network(**options)
        settings, layer = self._split(options)
        return self.network(InternalScales(mode=self.mode, **settings), **layer)


TOY_SCALES = dict(DATASETS["dynamic-mnist"].initial_scales)
MNIST_SCALE_SCALES = dict(DATASETS["mnist-scale"].initial_scales)
# Thesis Table 6/7: DISCO's scales 1.8 · (1, 1.26, 1.59, 2) px (DISCO's own script: 1.9)
DISCO_SCALES = dict(ns=4, sigma_basis=1.8, isr=2.0)

_SPECS = (
    [ModelSpec(f"toy-{mode}", "dynamic-mnist", mode, TOY_SCALES) for mode in ("fixed",) + LEARNABLE_MODES]
    + [
        ModelSpec("mnist-scale-cnn", "mnist-scale", None),
        ModelSpec("mnist-scale-sesn", "mnist-scale", "fixed", MNIST_SCALE_SCALES),
    ]
    + [ModelSpec(f"mnist-scale-{mode}", "mnist-scale", mode, MNIST_SCALE_SCALES) for mode in LEARNABLE_MODES]
    + [ModelSpec("mnist-scale-disco", "mnist-scale", "fixed", DISCO_SCALES, network_class=MnistScaleDISCO)]
    + [ModelSpec(f"mnist-scale-{name}", "mnist-scale", None, network_class=net) for name, net in BASELINES.items()]
)
SPECS = {spec.name: spec for spec in _SPECS}
MODELS = tuple(SPECS)


def model_spec(name: str) -> ModelSpec:
    """The ModelSpec named `name` (InputError for an unknown name)."""
    return SPECS[check_choice("model", name, MODELS)]


def make_model(name: str, **options: Any) -> nn.Module:
    """The model `name` (one of MODELS). Scale models accept the options
    ns, sigma_basis (px), isr, scales (px, for fixed/spacings/direct),
    learn_sigma, k (kernel extent in σ) and max_kernel (px); the MNIST-Scale
    scale models also mult (basis-B sub-scale ratio, default 1.4); the CNN
    none. Unknown names or options raise InputError naming them."""
    return model_spec(name).build(**options)


def internal_scales(model: nn.Module) -> InternalScales | None:
    """The InternalScales shared by `model`'s scale convolutions (None for a CNN)."""
    return next((m for m in model.modules() if isinstance(m, InternalScales)), None)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars (scale parameters included)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
