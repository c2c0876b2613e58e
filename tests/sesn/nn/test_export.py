import importlib.util

import pytest
import torch

from sesn.models import ToyNet, make_model
from sesn.nn.export import ExportedProjection, ExportedScaleConvHH, ExportedScaleConvZ2H, FrozenScales, export
from sesn.nn.layers import ScaleConvHH, ScaleConvZ2H, ScaleProjection
from sesn.nn.scales import InternalScales


def trained_like(model):
    """Move the scales and biases away from their initial values, as training would."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma") or name.endswith("sigma"):
                p.mul_(1.1)
            elif name.endswith("bias"):
                p.normal_(generator=torch.Generator().manual_seed(len(name)))
    return model


@pytest.mark.parametrize("path", ["direct", "separable"])
def test_exported_layers_equal_the_scale_layers(path):
    torch.manual_seed(0)
    scales = trained_like(InternalScales(ns=3, sigma_basis=1.0, isr=2.5, mode="ratio"))
    lift = ScaleConvZ2H(2, 3, scales, basis="B", eff=3, stride=2, bias=True, path=path)
    group = ScaleConvHH(3, 4, scales, scale_size=2, bias=True, path=path)
    x = torch.randn(2, 2, 19, 17)
    with torch.no_grad():
        hidden = lift(x)
        expected = group(hidden)
        baked_lift, baked_group = export(lift), export(group)
        assert isinstance(baked_lift, ExportedScaleConvZ2H) and isinstance(baked_group, ExportedScaleConvHH)
        assert isinstance(baked_lift.conv, torch.nn.Conv2d) and baked_group.conv.groups == 3
        torch.testing.assert_close(baked_lift(x), hidden, rtol=0, atol=1e-5 * hidden.abs().max().item())
        torch.testing.assert_close(baked_group(hidden), expected, rtol=0, atol=1e-5 * expected.abs().max().item())


def small_toy():
    """The toy network (σ_basis 2, ISR 3: 49-px kernels) on 48×48 inputs with 4 filters."""
    return ToyNet(InternalScales(ns=3, sigma_basis=2.0, isr=3.0), filters=4, image_size=48, pool=12)


@pytest.mark.parametrize(
    ("make", "shape"), [(small_toy, (2, 1, 48, 48)), (lambda: make_model("mnist-scale-spacings"), (2, 1, 28, 28))]
)
def test_an_exported_model_equals_the_model_and_scripts_and_traces(make, shape):
    torch.manual_seed(1)
    model = trained_like(make()).eval()
    x = torch.randn(shape)
    with torch.no_grad():
        expected = model(x)
        exported = export(model)
        for tool in (lambda m: m, torch.jit.script, lambda m: torch.jit.trace(m, x)):
            torch.testing.assert_close(tool(exported)(x), expected, rtol=1e-5, atol=1e-5 * expected.abs().max().item())
    kinds = {type(m) for m in exported.modules()}
    assert not kinds & {ScaleConvZ2H, ScaleConvHH, ScaleProjection, InternalScales}
    assert ExportedProjection in kinds and FrozenScales in kinds
    (frozen,) = [m for m in exported.modules() if isinstance(m, FrozenScales)]
    torch.testing.assert_close(frozen.values, model.scales().detach())
    assert isinstance(model.scales, InternalScales)  # the original is untouched


def test_export_keeps_the_mode_and_projections_reduce_like_the_originals():
    x = torch.randn(2, 3, 4, 5, 5)
    for mode in ("max", "mean"):
        torch.testing.assert_close(export(ScaleProjection(mode))(x), ScaleProjection(mode)(x))
    model = make_model("toy-fixed").eval()
    assert export(model).training is False and export(model.train()).training is True


@pytest.mark.skipif(importlib.util.find_spec("onnx") is None, reason="the onnx package is not installed")
def test_an_exported_model_goes_to_onnx(tmp_path):
    model = export(make_model("mnist-scale-isr").eval())
    torch.onnx.export(model, (torch.randn(1, 1, 28, 28),), tmp_path / "model.onnx")
    assert (tmp_path / "model.onnx").stat().st_size > 0
