"""The dataset catalog holds the thesis's facts (App. A, B; values typed here
from the thesis, not read from the code), and both the data and the training
side take their defaults from it."""

import numpy as np
import pytest

from scaletol.checks import InputError
from scaletol.datasets import (
    DATASETS,
    EVAL_PER_OCTAVE,
    MNIST_SCALE_AUGMENT,
    MNIST_SCALE_FACTORS,
    NAMES,
    TRAIN_MIN_SCALE,
    dataset_info,
)


def test_the_catalog_holds_the_thesis_appendix():
    dynamic, scale = DATASETS["dynamic-mnist"], DATASETS["mnist-scale"]
    assert NAMES == ("dynamic-mnist", "mnist-scale")
    assert (dynamic.canvas, dynamic.sizes, dynamic.normalisation) == (168, (10000, 5000, 50000), None)
    assert (scale.canvas, scale.sizes, scale.normalisation) == (28, (10000, 2000, 50000), (0.0607, 0.2161))
    assert (MNIST_SCALE_FACTORS, MNIST_SCALE_AUGMENT, TRAIN_MIN_SCALE) == ((0.3, 1.0), (0.5, 2.0), 1.0)
    assert (dynamic.scale_lr, dynamic.scale_warmup, dynamic.scale_decay) == (0.01, 5, 0.75)
    assert (scale.scale_lr, scale.scale_warmup, scale.scale_decay) == (0.005, 10, 0.1)
    assert dict(dynamic.initial_scales) == {"ns": 3, "sigma_basis": 2.0, "isr": 3.0}
    assert dict(scale.initial_scales) == {"ns": 4, "sigma_basis": 1.5, "isr": 2.0}
    octaves = np.log2(dynamic.eval_range[1] / dynamic.eval_range[0])
    assert dynamic.eval_range[0] == pytest.approx(2**-0.5) and octaves * EVAL_PER_OCTAVE + 1 == pytest.approx(45)


def test_an_unknown_dataset_is_an_input_error():
    with pytest.raises(InputError, match="dataset='fashion' must be one of 'dynamic-mnist', 'mnist-scale'"):
        dataset_info("fashion")


def test_the_data_side_reads_the_catalog():
    from sesn.data.dynamic_mnist import CANVAS, build_dynamic_mnist
    from sesn.data.mnist_scale import StoredScaleImages, build_mnist_scale
    from sesn.data.registry import evaluation_grid

    assert DATASETS["dynamic-mnist"].canvas == CANVAS
    assert build_dynamic_mnist.__kwdefaults__["sizes"] == DATASETS["dynamic-mnist"].sizes
    assert build_mnist_scale.__kwdefaults__["sizes"] == DATASETS["mnist-scale"].sizes
    fields = StoredScaleImages.__dataclass_fields__
    assert (fields["mean"].default, fields["std"].default) == DATASETS["mnist-scale"].normalisation
    assert len(evaluation_grid()) == 45


def test_the_training_side_reads_the_catalog():
    from sesn.models import model_spec
    from sesn.train.config import TrainConfig

    for name, info in DATASETS.items():
        model = "toy-isr" if name == "dynamic-mnist" else "mnist-scale-isr"
        config = TrainConfig(model=model)
        assert {k: getattr(config, k) for k in info.training_defaults()} == info.training_defaults()
        assert model_spec(model).scale_defaults == dict(info.initial_scales)
