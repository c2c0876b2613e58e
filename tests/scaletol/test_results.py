import json

import numpy as np
import pytest
import xarray as xr

from scaletol.files import atomic_write_text
from scaletol.results import (
    as_config_cell,
    by_range,
    merge_results,
    read_results,
    run_results,
    summarise,
    write_results,
)

GRID = [0.5, 1.0, 2.0, 4.0]


def description(seed, model="toy-fixed", ns=3):
    return {
        "seed": seed,
        "ns": ns,
        "sigma_unit": 2.0,
        "model": model,
        "dataset": "dynamic-mnist",
        "dist": "loguniform",
        "range": [1.0, 8.0],
        "mode": "fixed",
    }


def cell(seed, isr, test_error, scales=None):
    errors = np.linspace(0.1, 0.4, len(GRID)) + seed + isr
    scales = [2.0, 2.0 * isr**0.5, 2.0 * isr] if scales is None else scales
    return run_results(
        description=description(seed),
        data_scale=GRID,
        error=errors,
        n=[7] * len(GRID),
        scales=scales,
        test_error=test_error,
        val_error=test_error / 2,
        isr=isr,
    )


def test_round_trip_keeps_values_dims_and_contract_attrs(tmp_path):
    grid = merge_results([cell(s, isr, 0.01 * (s + 1)) for s in (0, 1) for isr in (1.5, 3.0)])
    back = read_results(write_results(grid, tmp_path / "results.nc"))
    xr.testing.assert_identical(back, grid)
    assert back["error"].dims == ("seed", "isr", "data_scale")
    assert back["scales"].dims == ("seed", "isr", "scale_index")
    assert back["n"].dtype == np.int32 and back["seed"].dtype == np.int32
    assert back["error"].sel(seed=1, isr=3.0).values == pytest.approx(np.linspace(0.1, 0.4, 4) + 4.0)
    config = json.loads(back.attrs["config"])
    assert {"ns", "sigma_unit", "model", "dataset", "dist", "range", "mode"} <= set(config)
    assert "seed" not in config  # differs between the merged runs
    assert back.attrs["scaletol_version"]


def test_missing_cells_are_nan():
    grid = merge_results([cell(0, 1.5, 0.1), cell(1, 3.0, 0.2)])
    assert grid.sizes == {"seed": 2, "isr": 2, "data_scale": 4, "scale_index": 3}
    assert np.isnan(grid["test_error"].sel(seed=0, isr=3.0))
    assert grid["test_error"].sel(seed=1, isr=3.0) == 0.2


def test_models_grid_keeps_each_config_and_pads_scales(tmp_path):
    def model_cell(index, model, scales):
        run = run_results(
            description=description(0, model, len(scales)),
            data_scale=GRID,
            error=[0.1] * 4,
            n=[3] * 4,
            scales=scales,
            test_error=0.02,
            val_error=0.03,
            isr=2.0,
        )
        return as_config_cell(run, index)

    grid = merge_results(
        [model_cell(0, "mnist-scale-cnn", []), model_cell(1, "mnist-scale-sesn", [1.5, 1.89, 2.38, 3.0])]
    )
    back = read_results(write_results(grid, tmp_path / "models.nc"))
    assert back["scales"].sizes["scale_index"] == 4
    assert np.isnan(back["scales"].sel(config=0)).all()
    configs = json.loads(back.attrs["configs"])
    assert [configs[k]["model"] for k in ("0", "1")] == ["mnist-scale-cnn", "mnist-scale-sesn"]


def test_a_grid_over_data_ranges_splits_back_into_isr_grids(tmp_path):
    cells = []
    for index, (hi, isr) in enumerate([(8.0, 1.5), (8.0, 3.0), (2.83, 1.5)]):
        for seed in (0, 1):
            cells.append(as_config_cell(cell(seed, isr, 0.01 * index), index, range_lo=1.0, range_hi=hi))
    grid = read_results(write_results(merge_results(cells), tmp_path / "ranges.nc"))
    assert grid["error"].dims == ("seed", "config", "data_scale")
    parts = dict(by_range(grid))
    assert sorted(parts) == [(1.0, 2.83), (1.0, 8.0)]
    wide = parts[(1.0, 8.0)]
    assert wide["isr"].values.tolist() == [1.5, 3.0]
    assert wide["test_error"].sel(seed=1, isr=3.0) == pytest.approx(0.01)
    assert parts[(1.0, 2.83)]["test_error"].sel(seed=0, isr=1.5) == pytest.approx(0.02)


def test_an_isr_grid_is_one_range_from_its_config():
    [(bounds, grid)] = by_range(merge_results([cell(0, 1.5, 0.1), cell(0, 3.0, 0.1)]))
    assert bounds == (1.0, 8.0) and grid.sizes["isr"] == 2


def test_merging_different_grids_is_refused():
    other = run_results(
        description=description(1),
        data_scale=[1.0, 2.0],
        error=[0, 0],
        n=[1, 1],
        scales=[2.0],
        test_error=0.0,
        val_error=0.0,
        isr=2.0,
    )
    with pytest.raises(ValueError, match="data_scale"):
        merge_results([cell(0, 1.5, 0.1), other])


def test_summary_is_mean_and_sample_std_over_seeds():
    grid = merge_results(
        [
            cell(s, 2.0, e, scales=[sb, sb * i])
            for s, e, sb, i in [(0, 0.02, 1.0, 2.0), (1, 0.03, 2.0, 3.0), (2, 0.04, 3.0, 4.0)]
        ]
    )
    row = summarise(grid).loc[2.0]
    assert row[("test_error", "mean")] == pytest.approx(3.0)
    assert row[("test_error", "std")] == pytest.approx(1.0)
    assert row[("sigma_basis", "mean")] == pytest.approx(2.0)
    assert row[("learned_isr", "mean")] == pytest.approx(3.0)
    assert row[("seeds", "count")] == 3


def test_reading_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_results(tmp_path / "absent.nc")
    atomic_write_text(tmp_path / "junk.nc", "not netcdf")
    with pytest.raises(ValueError, match="junk.nc"):
        read_results(tmp_path / "junk.nc")
    xr.Dataset({"x": ("a", [1.0])}).to_netcdf(tmp_path / "other.nc", engine="scipy")
    with pytest.raises(ValueError, match="other.nc"):
        read_results(tmp_path / "other.nc")


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = write_results(cell(0, 1.5, 0.1), tmp_path / "results.nc")
    before = path.read_bytes()

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(OSError, match="disk full"):
        write_results(cell(0, 3.0, 0.2), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["results.nc"]
