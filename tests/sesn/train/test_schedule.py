import pytest

from sesn.train.config import TrainConfig
from sesn.train.schedule import Schedule

STEPS = 10  # optimiser steps per epoch


def rates(config, epoch, index=0):
    return Schedule.from_config(config).rates(epoch * STEPS + index, STEPS)


def test_weights_drop_tenfold_at_epochs_20_and_40():
    config = TrainConfig(model="toy-isr")
    assert [rates(config, e)[0] for e in (0, 19, 20, 39, 40, 59)] == pytest.approx([1e-2, 1e-2, 1e-3, 1e-3, 1e-4, 1e-4])


def test_toy_scale_group_warms_up_over_5_epochs_then_steps_by_0_75():
    config = TrainConfig(model="toy-isr")
    warmup_steps = 5 * STEPS
    assert rates(config, 0, 0)[1] == pytest.approx(0.01 / warmup_steps)
    assert rates(config, 2, 4)[1] == pytest.approx(0.01 * 25 / warmup_steps)
    assert rates(config, 4, STEPS - 1)[1] == pytest.approx(0.01)
    assert [rates(config, e)[1] for e in (19, 20, 40)] == pytest.approx([0.01, 0.0075, 0.005625])


def test_mnist_scale_group_warms_up_over_10_epochs_at_0_005():
    config = TrainConfig(model="mnist-scale-isr", dataset="mnist-scale")
    assert rates(config, 4, STEPS - 1)[1] == pytest.approx(0.0025)
    assert [rates(config, e)[1] for e in (10, 20, 40)] == pytest.approx([0.005, 0.0005, 0.00005])


def test_no_warmup_means_full_rate_from_the_first_step():
    config = TrainConfig(model="toy-isr", scale_warmup=0)
    assert rates(config, 0)[1] == 0.01
