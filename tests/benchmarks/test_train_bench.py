"""benchmarks/train.py: the plain-PyTorch build computes the toy network's function."""

import copy
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


def test_in_training_mode_too():
    """The fused ReLU, batch norm and pool of ToyNet against the plain modules, batch statistics."""
    torch.manual_seed(0)
    model = ToyNet(InternalScales(ns=3, sigma_basis=1.0, isr=2.0), filters=3, image_size=24, pool=6).train()
    plain = train_bench.PlainToyNet(copy.deepcopy(model)).train()
    x = torch.randn(4, 1, 24, 24, generator=torch.Generator().manual_seed(1))
    expected = model(x)
    torch.testing.assert_close(plain(x), expected, rtol=0, atol=1e-4 * expected.abs().max().item())


def test_versions_prints_one_row_per_batch_with_the_ratio():
    import versions
    from click.testing import CliRunner

    root = str(Path(__file__).resolve().parents[2])
    result = CliRunner().invoke(versions.main, [root, root, "--batches", "2", "--steps", "1", "--rounds", "1"])
    assert result.exit_code == 0, result.output
    row = result.output.strip().splitlines()[-1]
    assert row.startswith("| 2 |") and row.endswith("× |")
    before, after = (float(cell) for cell in row.split("|")[2:4])
    assert before > 0 and after > 0
