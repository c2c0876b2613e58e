"""TrainConfig.precision: bf16 (autocast) and tf32 training agree with fp32
on a tiny model, and a device that lacks a precision refuses it.

Tolerance: the epoch's mean training loss within 2 % (relative) of fp32's,
the scales within 0.1 %. bfloat16 keeps 8 significant bits (rounding ≤ 0.4 %
per operation), TF32 11. The learning rates are 1e-6, so that the two steps
barely move the weights and the comparison measures the arithmetic: at the
usual rates Adam's first steps (about lr times the gradient's sign) turn any
rounding difference into a whole step, and the runs part (by 16 % in loss
after two steps at lr 0.01 in bf16 on the CPU)."""

import pandas as pd
import pytest
import torch

from scaletol.checks import InputError
from sesn.train.loop import train
from tests.sesn.train.test_training import synthetic_mnist, tiny_config

LOSS_RTOL, SCALES_RTOL = 0.02, 1e-3


def run(precision, device, out):
    seen = []

    def autocast_state(epoch, index):
        seen.append(torch.is_autocast_enabled(torch.device(device).type))

    config = tiny_config("toy-isr", precision=precision, lr=1e-6, scale_lr=1e-6)
    result = train(config, out, mnist=synthetic_mnist(), device=device, progress=False, on_batch=autocast_state)
    return result, pd.read_csv(out / "metrics.csv").iloc[0], seen


def check_agreement(precision, device, tmp_path):
    reference, reference_metrics, plain = run("fp32", device, tmp_path / "fp32")
    result, metrics, seen = run(precision, device, tmp_path / precision)
    assert plain == [False, False] and seen == [precision == "bf16"] * 2
    assert metrics["train_loss"] == pytest.approx(reference_metrics["train_loss"], rel=LOSS_RTOL)
    assert result.scales == pytest.approx(reference.scales, rel=SCALES_RTOL)
    assert 0 <= result.test_error <= 1
    return reference, result


def test_bf16_training_on_the_cpu_agrees_with_fp32(tmp_path):
    check_agreement("bf16", "cpu", tmp_path)


def test_tf32_on_the_cpu_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(InputError, match=r"^precision='tf32' must be fp32 or bf16 on cpu"):
        train(tiny_config("toy-isr", precision="tf32"), tmp_path / "run", mnist=synthetic_mnist(), device="cpu")
    assert not (tmp_path / "run").exists()
    with pytest.raises(InputError, match=r"^precision='fp16' must be one of 'fp32', 'tf32', 'bf16'"):
        tiny_config("toy-isr", precision="fp16")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["tf32", "bf16"])
def test_cuda_training_agrees_with_fp32(precision, tmp_path):
    switches = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    check_agreement(precision, "cuda", tmp_path)
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == switches
