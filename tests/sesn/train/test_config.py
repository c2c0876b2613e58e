import json

import pytest

from scaletol.checks import InputError
from scaletol.datasets import DATASETS
from sesn.train.config import TrainConfig


def test_dataset_defaults_follow_the_thesis_appendix_b():
    toy = TrainConfig(model="toy-isr")
    assert (toy.scale_lr, toy.scale_warmup, toy.scale_decay) == (0.01, 5, 0.75)
    assert toy.sizes == (10000, 5000, 50000)
    assert (toy.epochs, toy.batch_size, toy.lr, toy.milestones, toy.lr_decay) == (60, 128, 0.01, (20, 40), 0.1)
    scale = TrainConfig(model="mnist-scale-isr", dataset="mnist-scale")
    assert (scale.scale_lr, scale.scale_warmup, scale.scale_decay) == (0.005, 10, 0.1)
    assert scale.sizes == (10000, 2000, 50000)
    assert (scale.dist, scale.range) == ("uniform", (0.3, 1.0))


def test_json_round_trip_is_exact(tmp_path):
    config = TrainConfig(
        model="toy-direct",
        range=(1, 2.83),
        scales=[2.0, 3.46, 6.0],
        sizes=[100, 50, 60],
        milestones=[3, 7],
        seed=4,
        eval_limit=9,
        learn_sigma=False,
    )
    assert TrainConfig.from_json(config.to_json()) == config
    assert TrainConfig.load(config.save(tmp_path / "config.json")) == config
    assert json.loads(config.to_json())["scales"] == [2.0, 3.46, 6.0]


def test_unknown_key_is_named():
    with pytest.raises(ValueError, match="colour"):
        TrainConfig.from_dict({"model": "toy-isr", "colour": 3})


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"epochs": 0}, "epochs"),
        ({"range": (8.0, 1.0)}, r"\(8.0, 1.0\)"),
        ({"lr": -0.1}, "-0.1"),
        ({"dataset": "cifar"}, "cifar"),
        ({"milestones": (40, 20)}, r"\(40, 20\)"),
        ({"sizes": (10, 0, 10)}, "sizes"),
        ({"isr": float("nan")}, "nan"),
        ({"dataset": "mnist-scale", "range": (1.0, 8.0)}, r"\(1.0, 8.0\)"),
    ],
)
def test_bad_values_are_named(changes, named):
    with pytest.raises(ValueError, match=named):
        TrainConfig(model="toy-isr", **changes)


def test_malformed_json_is_a_value_error():
    with pytest.raises(ValueError, match="malformed"):
        TrainConfig.from_json("{not json")


def test_model_options_hold_only_given_scale_settings():
    assert TrainConfig(model="toy-fixed").model_options() == {}
    assert TrainConfig(model="toy-fixed", isr=4.0, max_kernel=21).model_options() == {"isr": 4.0, "max_kernel": 21}


def test_replacing_the_dataset_brings_its_defaults_unless_given():
    toy = TrainConfig(model="toy-isr", scale_lr=0.02, sizes=(10, 10, 10))
    scale = toy.replace(model="mnist-scale-isr", dataset="mnist-scale", sizes=(20, 20, 20))
    assert (scale.dist, scale.range, scale.scale_lr, scale.sizes) == ("uniform", (0.3, 1.0), 0.005, (20, 20, 20))
    assert toy.replace(seed=3).scale_lr == 0.02


@pytest.mark.parametrize(
    ("model", "dataset"),
    [("mnist-scale-sesn", "mnist-scale"), ("mnist-scale-cnn", "mnist-scale"), ("toy-ratio", "dynamic-mnist")],
)
def test_the_dataset_is_the_models_unless_given(model, dataset):
    config = TrainConfig(model=model)
    assert config.dataset == dataset
    assert config.sizes == DATASETS[dataset].sizes
    assert config == TrainConfig(model=model, dataset=dataset)


def test_a_dataset_the_model_is_not_built_for_names_both():
    with pytest.raises(InputError, match="mnist-scale-sesn.*dynamic-mnist"):
        TrainConfig(model="mnist-scale-sesn", dataset="dynamic-mnist")
    with pytest.raises(InputError, match="mnist-scale-isr.*dynamic-mnist"):  # a config's dataset stays given
        TrainConfig(model="toy-isr").replace(model="mnist-scale-isr")


def test_the_defaults_come_from_the_catalog_and_the_tolerance_model():
    from tolerance.fit import DEFAULT_SIGMA_UNIT

    config = TrainConfig(model="mnist-scale-isr")
    info = DATASETS["mnist-scale"]
    assert (config.scale_lr, config.scale_warmup, config.scale_decay) == (
        info.scale_lr,
        info.scale_warmup,
        info.scale_decay,
    )
    assert config.eval_range == info.eval_range and config.sigma_unit == DEFAULT_SIGMA_UNIT


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(InputError, match="config.json"):
        TrainConfig.load(tmp_path / "config.json")
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="config.json.*object"):
        TrainConfig.load(tmp_path / "config.json")


def test_split_sizes_left_none_are_the_datasets_and_a_small_split_is_one_batch():
    config = TrainConfig(model="mnist-scale-cnn", sizes=(12, None, 30))
    assert config.sizes == (12, DATASETS["mnist-scale"].sizes[1], 30)
    assert config.batch_size == 12
    assert TrainConfig(model="mnist-scale-cnn", sizes=(12, 5, 5), batch_size=4).batch_size == 4
    assert TrainConfig(model="toy-isr").batch_size == 128  # thesis App. B
    with pytest.raises(InputError, match="sizes=0"):
        TrainConfig(model="toy-isr", sizes=(0, None, None))


# init="suggest": the initial scales are the tolerance model's for the training distribution.


def suggested_scales(model_mode, dist, low, high, ns=3):
    """The scales InternalScales takes from tolerance.fit.suggest, computed apart from TrainConfig."""
    from sesn.nn.scales import InternalScales
    from tolerance.distributions import make_distribution
    from tolerance.fit import DEFAULT_SIGMA_UNIT, suggest

    suggestion = suggest(make_distribution(dist, low, high), ns, sigma_unit=DEFAULT_SIGMA_UNIT)
    return InternalScales.from_suggestion(suggestion, mode=model_mode).values


@pytest.mark.parametrize(("model", "mode"), [("toy-isr", "isr"), ("toy-ratio", "ratio"), ("toy-fixed", "fixed")])
@pytest.mark.parametrize(("dist", "low", "high"), [("loguniform", 1.0, 8.0), ("uniform", 1.0, 2.83)])
def test_init_suggest_builds_the_suggested_scales(model, mode, dist, low, high):
    from sesn.models import internal_scales, make_model

    config = TrainConfig(model=model, dist=dist, range=(low, high), init="suggest")
    built = internal_scales(make_model(config.model, **config.model_options())).values
    assert built == pytest.approx(suggested_scales(mode, dist, low, high), rel=1e-6)
    thesis = TrainConfig(model=model, dist=dist, range=(low, high))
    assert (thesis.sigma_basis, thesis.isr) == (None, None)  # the dataset's, left to the model
    assert built != pytest.approx(internal_scales(make_model(model)).values, rel=1e-3)


def test_init_suggest_follows_ns_and_is_saved_with_the_values_used():
    config = TrainConfig(model="toy-isr", dist="loguniform", range=(1.0, 8.0), ns=4, init="suggest")
    assert [config.sigma_basis * config.isr ** (i / 3) for i in range(4)] == pytest.approx(
        suggested_scales("isr", "loguniform", 1.0, 8.0, ns=4)
    )
    saved = json.loads(config.to_json())
    assert saved["init"] == "suggest" and saved["sigma_basis"] == config.sigma_basis and saved["isr"] == config.isr
    assert TrainConfig.from_json(config.to_json()) == config


def test_init_suggest_suggests_anew_for_a_new_range_and_refuses_other_scales():
    config = TrainConfig(model="toy-isr", range=(1.0, 8.0), init="suggest")
    narrower = config.replace(range=(1.0, 2.0))
    assert narrower.isr == pytest.approx(
        suggested_scales("isr", config.dist, 1.0, 2.0)[-1] / suggested_scales("isr", config.dist, 1.0, 2.0)[0]
    )
    assert narrower.isr < config.isr
    with pytest.raises(InputError, match=r"^isr=3.0 must be left out with init='suggest' \(the suggestion is "):
        TrainConfig(model="toy-isr", isr=3.0, init="suggest")
    with pytest.raises(InputError, match=r"^scales=.* must be left out with init='suggest'"):
        TrainConfig(model="toy-spacings", scales=(2.0, 3.0, 6.0), init="suggest")
    with pytest.raises(InputError, match=r"^init='best' must be one of 'thesis', 'suggest'"):
        TrainConfig(model="toy-isr", init="best")
