import pytest
import torch

from scaletol.checks import InputError
from sesn.baselines import NETWORKS as BASELINES
from sesn.models import MODELS, count_parameters, internal_scales, make_model, model_spec
from sesn.nn.layers import ScaleConvHH, ScaleConvZ2H
from sesn.nn.scales import scale_parameters

MNIST_SCALE = [name for name in MODELS if name.startswith("mnist-scale-")]
TOY = [name for name in MODELS if name.startswith("toy-")]
LEARNABLE = ("isr", "ratio", "spacings", "direct")


def test_registry_covers_every_scale_mode_for_both_networks():
    assert sorted(TOY) == sorted(f"toy-{m}" for m in ("fixed",) + LEARNABLE)
    assert sorted(MNIST_SCALE) == sorted(
        ["mnist-scale-cnn", "mnist-scale-sesn", "mnist-scale-disco"]
        + [f"mnist-scale-{m}" for m in LEARNABLE]
        + [f"mnist-scale-{name}" for name in BASELINES]
    )


@pytest.mark.parametrize("name", MNIST_SCALE)
def test_mnist_scale_models_have_about_495k_parameters(name):
    """Thesis App. B.2 / Table 5: about 495k parameters for every model compared."""
    assert abs(count_parameters(make_model(name)) / 495_000 - 1) < 0.02


def test_cnn_parameter_count_matches_the_layer_arithmetic():
    # 7x7 convs with bias (1→32→63→95), three BatchNorms, Linear(4·95→256, no bias), BN(256), Linear(256→10)
    convs = (1 * 32 + 32 * 63 + 63 * 95) * 49 + (32 + 63 + 95)
    norms = 2 * (32 + 63 + 95) + 2 * 256
    head = 4 * 95 * 256 + 256 * 10 + 10
    assert count_parameters(make_model("mnist-scale-cnn")) == convs + norms + head


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("toy-isr", [2.0, 2.0 * 3**0.5, 6.0]),  # App. B.1: σ_basis 2, ISR 3, N_S 3
        ("mnist-scale-sesn", [1.5, 1.5 * 2 ** (1 / 3), 1.5 * 2 ** (2 / 3), 3.0]),  # Table 6: 1.5, 1.89, 2.38, 3
        ("mnist-scale-direct", [1.5, 1.5 * 2 ** (1 / 3), 1.5 * 2 ** (2 / 3), 3.0]),
    ],
)
def test_initial_scales_follow_the_thesis(name, expected):
    assert internal_scales(make_model(name)).values == pytest.approx(expected, rel=1e-6)


def test_options_set_the_scales():
    model = make_model("toy-direct", scales=[2.0, 3.46, 6.0])
    assert internal_scales(model).values == pytest.approx([2.0, 3.46, 6.0])
    assert internal_scales(make_model("toy-fixed", isr=5.0)).isr == pytest.approx(5.0)


@pytest.mark.parametrize("name", ["toy-fixed", "mnist-scale-sesn", "mnist-scale-cnn"])
def test_fixed_models_have_no_trainable_scales(name):
    assert not any(p.requires_grad for p in scale_parameters(make_model(name)))


@pytest.mark.parametrize("mode", LEARNABLE)
def test_learnable_toy_scales_receive_gradients(mode):
    model = make_model(f"toy-{mode}", sigma_basis=1.0, isr=2.0)
    model(torch.randn(2, 1, 168, 168)).logsumexp(1).sum().backward()
    grads = [p.grad for p in scale_parameters(model)]
    assert grads and all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", MNIST_SCALE)
def test_mnist_scale_models_map_28px_digits_to_10_logits(name):
    model = make_model(name, max_kernel=7) if model_spec(name).mode else make_model(name)
    assert model.eval()(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_toy_model_maps_168px_digits_to_10_logits():
    assert make_model("toy-fixed", sigma_basis=1.0, isr=2.0).eval()(torch.randn(2, 1, 168, 168)).shape == (2, 10)


@pytest.mark.parametrize(
    ("name", "options", "named"),
    [
        ("resnet", {}, "resnet"),
        ("toy-isr", {"depth": 3}, "depth"),
        ("mnist-scale-cnn", {"isr": 2.0}, "isr"),
    ],
)
def test_bad_names_and_options_are_named(name, options, named):
    with pytest.raises(ValueError, match=named):
        make_model(name, **options)


def scale_convs(model):
    return [m for m in model.modules() if isinstance(m, ScaleConvZ2H | ScaleConvHH)]


@pytest.mark.parametrize("name", ["mnist-scale-sesn", "mnist-scale-ratio"])
def test_mnist_scale_networks_use_basis_b_with_mult_1_4_and_zero_biases(name):
    """SESN's MNIST model with scales 1.5 … 3 (mnist_ses_scalar_28p) and the thesis code use mult 1.4."""
    convs = scale_convs(make_model(name))
    assert len(convs) == 3
    assert all(c.spec.kind == "B" and c.spec.eff == 7 and c.spec.mult == 1.4 for c in convs)
    assert all(torch.equal(c.bias, torch.zeros_like(c.bias)) for c in convs)
    assert all(c.spec.mult == 1.5 for c in scale_convs(make_model(name, mult=1.5)))


def test_the_disco_network_follows_discos_mnist_settings(monkeypatch, tmp_path):
    """DISCO's mnist_disco: basis disco_b with 7×7 weights, 15-px kernels, mult 1.5,
    scales (1, 1.26, 1.59, 2) (Table 7) × 1.8 px (Table 6), average pools; no k."""
    monkeypatch.setenv("SCALETOL_CACHE", str(tmp_path))
    model = make_model("mnist-scale-disco")
    assert internal_scales(model).values == pytest.approx([1.8 * 2 ** (i / 3) for i in range(4)], rel=1e-6)
    convs = scale_convs(model)
    assert len(convs) == 3
    assert all(c.spec.kind == "disco" and c.spec.eff == 7 and c.spec.mult == 1.5 and c.spec.dilate for c in convs)
    assert all(c.kernel_size == 15 for c in convs)
    assert sum(isinstance(m, torch.nn.AvgPool3d) for m in model.modules()) == 2
    assert not any(p.requires_grad for p in scale_parameters(model))
    with pytest.raises(InputError, match="k"):
        make_model("mnist-scale-disco", k=3.0)


def test_the_toy_network_has_basis_a_and_takes_no_mult():
    (conv,) = scale_convs(make_model("toy-isr"))
    assert conv.spec.kind == "A" and conv.spec.eff == 5 and conv.bias is None
    with pytest.raises(InputError, match="mult"):
        make_model("toy-isr", mult=1.4)


@pytest.mark.parametrize(
    ("name", "options", "named"),
    [
        ("toy-isr", {"ns": 500}, "ns=500"),
        ("toy-isr", {"sigma_basis": 1e4}, "240001 px"),
        ("mnist-scale-isr", {"isr": 500.0}, "σ_max=750 px"),
        ("mnist-scale-sesn", {"mult": 0.5}, "mult=0.5"),
        ("toy-direct", {"scales": [2.0, 1.0, 3.0]}, "must increase strictly"),
        ("toy-isr", {"learn_sigma": "no"}, "learn_sigma='no'"),
    ],
)
def test_check_refuses_what_build_would_without_building(name, options, named):
    with pytest.raises(InputError, match=named):
        model_spec(name).check(**options)
    with pytest.raises(InputError, match=named):
        make_model(name, **options)


def test_check_accepts_the_defaults_and_a_cap():
    for name in MODELS:
        model_spec(name).check()
    model_spec("toy-isr").check(sigma_basis=1e4, max_kernel=63)
