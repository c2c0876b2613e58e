"""benchmarks/train.py: the plain-PyTorch build computes the toy network's function."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # the benchmarks import each other
import train as train_bench  # noqa: E402

from sesn.models import ToyNet  # noqa: E402
from sesn.nn.scales import InternalScales  # noqa: E402


def test_the_plain_build_equals_the_toy_network_and_trains_its_kernels():
    torch.manual_seed(0)
    model = ToyNet(InternalScales(ns=3, sigma_basis=1.0, isr=2.0), filters=3, image_size=24, pool=6).eval()
    plain = train_bench.PlainToyNet(model).eval()
    x = torch.randn(2, 1, 24, 24, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(x)
        torch.testing.assert_close(plain(x), expected, rtol=0, atol=1e-5 * expected.abs().max().item())
    assert plain.weight.shape == (3 * 3, 1, model.conv.kernel_size, model.conv.kernel_size)
    plain(x).sum().backward()
    assert plain.weight.grad is not None and plain.weight.grad.abs().sum() > 0
