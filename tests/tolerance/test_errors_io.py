import json

import numpy as np
import pytest
import xarray as xr

from scaletol.checks import InputError
from tolerance.errors_io import read_errors

CSV_HEADER = "seed,isr,ns,c_ref,data_scale,error\n"


def write(tmp_path, text, name="errors.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_rows_group_into_models_with_geometric_internal_scales(tmp_path):
    rows = [f"{seed},{isr},3,1.0,{s},{0.1 + 0.01 * s}" for seed in (0, 1) for isr in (4.0, 2.0) for s in (1, 2, 4, 8)]
    models = read_errors(write(tmp_path, CSV_HEADER + "\n".join(rows)))
    assert [m.label for m in models] == [
        {"seed": 0, "isr": 2.0, "ns": 3, "c_ref": 1.0},
        {"seed": 0, "isr": 4.0, "ns": 3, "c_ref": 1.0},
        {"seed": 1, "isr": 2.0, "ns": 3, "c_ref": 1.0},
        {"seed": 1, "isr": 4.0, "ns": 3, "c_ref": 1.0},
    ]
    assert models[1].internal_scales == pytest.approx([1.0, 2.0, 4.0])
    assert models[1].data_scales.tolist() == [1, 2, 4, 8]
    assert models[1].errors == pytest.approx([0.11, 0.12, 0.14, 0.18])


def test_csv_sigma_basis_is_converted_with_sigma_unit(tmp_path):
    text = "isr,ns,sigma_basis,data_scale,error\n" + "\n".join(f"2.0,2,3.0,{s},0.1" for s in (1, 2, 3))
    path = write(tmp_path, text)
    assert read_errors(path)[0].internal_scales == pytest.approx([1.5, 3.0])  # default sigma_unit 2 px
    assert read_errors(path, sigma_unit=3.0)[0].internal_scales == pytest.approx([1.0, 2.0])
    with_column = "isr,ns,sigma_basis,sigma_unit,data_scale,error\n" + "\n".join(
        f"2.0,2,3.0,1.5,{s},0.1" for s in (1, 2, 3)
    )
    assert read_errors(write(tmp_path, with_column))[0].internal_scales == pytest.approx([2.0, 4.0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("a,b\n1,2\n1,2,3,4\n", "line 3: 4 fields where the header names 2"),
        ("isr,ns,c_ref,data_scale,error\n", "holds no rows"),
        ("isr,ns,data_scale,error\n2,3,1,0.1\n", "missing column.*c_ref or sigma_basis"),
        ("ns,c_ref,data_scale,error\n3,1,1,0.1\n", "missing column.*isr"),
        ("isr,ns,c_ref,data_scale\n2,3,1,1\n", "exactly one of the columns error, error_pct, accuracy"),
        ("isr,ns,c_ref,data_scale,error,accuracy\n2,3,1,1,0.1,0.9\n", "exactly one of .*found: error, accuracy"),
        (CSV_HEADER + "0,2,3,1,1,12.5\n", r"line 2: error='12.5' must be a finite number in \[0, 1\]"),
        (CSV_HEADER + "0,2,3,1,-1,0.1\n", r"line 2: data_scale='-1' must be a finite number in \[0.0001, 10000\]"),
        (CSV_HEADER + "0,2,3,1,1,0.1\n0,2,3,1,two,0.1\n", "line 3: data_scale='two'"),
        (CSV_HEADER + "0,2,3,1,1e-300,0.1\n", "line 2: data_scale='1e-300'"),
        (CSV_HEADER + "0,2,0,1,1,0.1\n", r"ns='0' must be an integer in \[1, 16\]"),
        (CSV_HEADER + "0,2,2.5,1,1,0.1\n", "ns='2.5' must be an integer"),
        (CSV_HEADER + "0,0.5,3,1,1,0.1\n", r"isr='0.5' must be a finite number in \[1, "),
        (CSV_HEADER + "0,2,3,nan,1,0.1\n", "c_ref='nan'"),
        (
            "model,isr,ns,c_ref,data_scale,error\na,2,3,1,1,0.1\na,4,3,1,2,0.1\n",
            "line 3: model 'a' has isr=4 but isr=2",
        ),
        ("isr,ns,c_ref,data_scale,error,n\n2,3,1,1,0.1,0\n", "n='0' must be an integer in"),
    ],
)
def test_bad_csv_input_is_named(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_errors(write(tmp_path, text))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="absent.csv: no such file"):
        read_errors(tmp_path / "absent.csv")


def results_dataset(model_dim="isr"):
    """A results file in the layout of scaletol.results (two seeds, two models, five data scales)."""
    data_scale = np.array([0.5, 1.0, 2.0, 4.0, 8.0])
    error = np.arange(20, dtype=float).reshape(2, 2, 5) / 100
    error[1, 1, 2] = np.nan  # a point that was not evaluated
    scales = np.array([[[2.0, 4.0, 8.0], [2.0, 6.0, 18.0]], [[2.2, 4.4, 8.8], [1.8, 5.4, 16.2]]])
    model_values = [2.0, 3.0] if model_dim == "isr" else [0, 1]
    return xr.Dataset(
        {
            "error": (("seed", model_dim, "data_scale"), error),
            "n": (("data_scale",), np.full(5, 100, dtype=np.int32)),
            "scales": (("seed", model_dim, "scale_index"), scales),
        },
        coords={"seed": [0, 1], model_dim: model_values, "data_scale": data_scale},
        attrs={"config": json.dumps({"ns": 3, "sigma_unit": 2.0, "model": "toy"}), "scaletol_version": "0.1.0"},
    )


@pytest.mark.parametrize("model_dim", ["isr", "config"])
def test_netcdf_results_give_one_model_per_seed_and_configuration(tmp_path, model_dim):
    path = tmp_path / "results.nc"
    results_dataset(model_dim).to_netcdf(path, engine="scipy")
    models = read_errors(path)
    assert len(models) == 4
    assert models[0].label == {"seed": 0, model_dim: 2.0 if model_dim == "isr" else 0}
    assert models[1].internal_scales == pytest.approx([1.0, 3.0, 9.0])  # px / sigma_unit
    assert models[0].errors == pytest.approx([0.0, 0.01, 0.02, 0.03, 0.04])
    assert models[3].data_scales.tolist() == [0.5, 1.0, 4.0, 8.0]  # the NaN point is dropped


def test_netcdf_without_scales_is_named(tmp_path):
    path = tmp_path / "results.nc"
    results_dataset().drop_vars("scales").to_netcdf(path, engine="scipy")
    with pytest.raises(ValueError, match="missing variable 'scales'"):
        read_errors(path)


def test_garbage_netcdf_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="not a readable netCDF"):
        read_errors(write(tmp_path, "not netcdf", "results.nc"))


def test_netcdf_skips_missing_runs_and_models_without_scales_and_drops_nan_scales(tmp_path):
    dataset = results_dataset()
    dataset["error"][0, 1, :] = np.nan  # a grid cell that was never run
    dataset["scales"][1, 0, :] = np.nan  # a plain CNN: no internal scales
    dataset["scales"][1, 1, 2] = np.nan  # N_S = 2 in a file padded to 3 scales
    path = tmp_path / "results.nc"
    dataset.to_netcdf(path, engine="scipy")
    models = read_errors(path)
    assert [m.label for m in models] == [{"seed": 0, "isr": 2.0}, {"seed": 1, "isr": 3.0}]
    assert models[1].internal_scales == pytest.approx([0.9, 2.7])


def test_netcdf_config_runs_use_their_own_sigma_unit(tmp_path):
    dataset = results_dataset("config")
    dataset.attrs["config"] = json.dumps({"ns": 3})
    dataset.attrs["configs"] = json.dumps({"0": {"sigma_unit": 1.0}, "1": {"sigma_unit": 4.0}})
    path = tmp_path / "results.nc"
    dataset.to_netcdf(path, engine="scipy")
    first, second = read_errors(path)[:2]
    assert first.internal_scales == pytest.approx([2.0, 4.0, 8.0])
    assert second.internal_scales == pytest.approx([0.5, 1.5, 4.5])


def test_netcdf_labels_name_the_data_range_of_dynamic_mnist_runs(tmp_path):
    dataset = results_dataset("config")
    dataset.attrs["configs"] = json.dumps(
        {
            "0": {"dataset": "dynamic-mnist", "range": [1.0, 2**1.5]},
            "1": {"dataset": "mnist-scale", "range": [1.0, 8.0]},
        }
    )
    path = tmp_path / "results.nc"
    dataset.to_netcdf(path, engine="scipy")
    first, second = read_errors(path)[:2]
    assert first.label == {"seed": 0, "config": 0, "range": "1-2.83"}
    assert second.label == {"seed": 0, "config": 1}
