import json

import numpy as np
import pytest
import torch
import xarray as xr

from scaletol.results import by_range, read_results
from sesn.data.mnist import MNIST
from sesn.train.config import TrainConfig
from sesn.train.sweep import isr_cells, isr_grid, model_cells, run_sweep


def synthetic_mnist(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    images = (torch.rand(n, 28, 28, generator=g) * 25 * (labels[:, None, None] + 1)).to(torch.uint8)
    return MNIST(images, labels)


BASE = TrainConfig(
    model="toy-fixed", sizes=(8, 8, 8), epochs=1, batch_size=8, max_kernel=7, eval_per_octave=0.2, eval_limit=4
)


class Interrupted(Exception):
    pass


def test_isr_grid_is_log_spaced_between_the_thesis_bounds():
    grid = isr_grid(1.5, 7.65, 15)
    assert grid[0] == pytest.approx(1.5) and grid[-1] == pytest.approx(7.65)
    assert np.diff(np.log(grid)) == pytest.approx(np.full(14, np.log(7.65 / 1.5) / 14))


def test_an_interrupted_sweep_resumes_skipping_finished_cells(tmp_path):
    cells = isr_cells(BASE, isrs=[2.0], seeds=[0], ranges=[(1.0, 2.83), (1.0, 8.0)])
    data = synthetic_mnist()
    whole = run_sweep(cells, tmp_path / "whole", mnist=data, device="cpu", progress=False)

    def stop_in_second_cell(epoch, batch):
        if (tmp_path / "cut" / "results.nc").exists():
            raise Interrupted

    with pytest.raises(Interrupted):
        run_sweep(cells, tmp_path / "cut", mnist=data, device="cpu", progress=False, on_batch=stop_in_second_cell)
    partial = read_results(tmp_path / "cut" / "results.nc")
    assert partial.sizes["config"] == 1
    trained = []
    resumed = run_sweep(
        cells,
        tmp_path / "cut",
        mnist=data,
        device="cpu",
        progress=False,
        on_cell=lambda cell, fresh: trained.append(fresh),
    )
    assert trained == [False, True]
    xr.testing.assert_identical(resumed, whole)
    xr.testing.assert_identical(read_results(tmp_path / "cut" / "results.nc"), whole)
    ranges = dict(by_range(whole))
    assert sorted(ranges) == [(1.0, 2.83), (1.0, 8.0)]
    assert all(part["isr"].values.tolist() == [2.0] for part in ranges.values())


def test_models_grid_labels_configs_and_keeps_scale_settings_off_the_cnn(tmp_path):
    base = BASE.replace(model="mnist-scale-cnn", dataset="mnist-scale", sizes=(8, 8, 8), max_kernel=5)
    cells = model_cells(base, ["mnist-scale-cnn", "mnist-scale-sesn"], seeds=[0, 1])
    assert [c.config.max_kernel for c in cells] == [None, None, 5, 5]
    grid = run_sweep(cells, tmp_path, mnist=synthetic_mnist(), device="cpu", progress=False)
    assert grid["test_error"].dims == ("seed", "config") and grid["test_error"].shape == (2, 2)
    configs = json.loads(read_results(tmp_path / "results.nc").attrs["configs"])
    assert configs["0"]["model"] == "mnist-scale-cnn" and configs["1"]["model"] == "mnist-scale-sesn"
    assert grid["scales"].sel(config=1, seed=0).values == pytest.approx(
        [1.5, 1.5 * 2 ** (1 / 3), 1.5 * 2 ** (2 / 3), 3.0]
    )


def test_a_finished_cell_with_another_config_is_refused(tmp_path):
    data = synthetic_mnist()
    run_sweep(isr_cells(BASE, [2.0], [0], [(1.0, 8.0)]), tmp_path, mnist=data, device="cpu", progress=False)
    changed = isr_cells(BASE.replace(lr=0.02), [2.0], [0], [(1.0, 8.0)])
    with pytest.raises(ValueError, match="different config"):
        run_sweep(changed, tmp_path, mnist=data, device="cpu", progress=False)


@pytest.mark.parametrize(("isrs", "seeds", "named"), [([2.0, 2.0], [0], "2.0"), ([], [0], "isr"), ([2.0], [], "seed")])
def test_bad_grids_are_named(isrs, seeds, named):
    with pytest.raises(ValueError, match=named):
        isr_cells(BASE, isrs, seeds, [(1.0, 8.0)])
