"""The arithmetic precision of training steps (`TrainConfig.precision`).

"fp32": plain float32. "tf32": float32 tensors whose matrix products and
convolutions run in TensorFloat-32 (CUDA GPUs of compute capability ≥ 8.0
only). "bf16": forward passes under ``torch.autocast`` to bfloat16 (CPU, and
CUDA GPUs that support it); weights, gradients and optimiser state stay
float32.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from scaletol.checks import check_choice, fail
from sesn.train.config import PRECISIONS


def check_precision(precision: str, device: torch.device) -> str:
    """`precision` if `device` can train in it; InputError otherwise."""
    check_choice("precision", precision, PRECISIONS)
    if precision == "tf32" and (device.type != "cuda" or torch.cuda.get_device_capability(device)[0] < 8):
        raise fail(
            "precision", precision, f"fp32 or bf16 on {device} (tf32 needs a CUDA GPU of compute capability ≥ 8)"
        )
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise fail("precision", precision, f"fp32 on {device} (it does not support bfloat16)")
    return precision


@contextmanager
def training_precision(precision: str, device: torch.device) -> Iterator[None]:
    """Run the block's forward passes (and their backward) in `precision` on
    `device`; the global TF32 switches are put back afterwards."""
    check_precision(precision, device)
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn
