import json

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from cli.main import main
from tolerance.errors_fit import predicted_errors

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
THESIS_RANGES = ["--range", "1", "2.828", "--range", "1", "4.757", "--range", "1", "8"]


def run(*args):
    return CliRunner().invoke(main, ["fit-tau", *args])


@pytest.fixture(scope="module")
def combined_json():
    result = run("--dist", "loguniform", *THESIS_RANGES, "--ns", "3", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_combined_fit_json_has_tau_and_each_inputs_c_ref_and_isr(combined_json):
    assert combined_json["tau"] == pytest.approx(0.459, abs=0.01)
    assert [item["range"][1] for item in combined_json["inputs"]] == [2.828, 4.757, 8.0]
    assert [item["isr"] for item in combined_json["inputs"]] == pytest.approx([2.893, 4.319, 6.320], abs=0.05)
    assert [item["c_ref"] for item in combined_json["inputs"]] == pytest.approx([0.981, 1.045, 1.125], abs=0.05)


def test_combined_fit_table_and_plot(tmp_path):
    path = tmp_path / "fig5.png"
    result = run("--dist", "loguniform", "--range", "1", "2.828", "--range", "1", "8", "--plot", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("combined fit of 2 distributions: tau = ")
    assert path.read_bytes()[:8] == PNG_MAGIC


def synthetic_csv(tmp_path, tau=0.6):
    """Per-scale errors made by the error model with a known tau (3 ISRs x 2 seeds)."""
    rng = np.random.default_rng(0)
    scales = np.geomspace(2**-0.5, 2**3.5, 45)
    rows = ["seed,isr,ns,sigma_basis,data_scale,error"]
    for seed in (0, 1):
        for isr in (1.5, 3.0, 6.0):
            internal = 1.0 * isr ** (np.arange(3) / 2)
            errors = predicted_errors(scales, internal, tau, 0.03, 0.7) + rng.normal(0, 0.005, scales.size)
            rows += [f"{seed},{isr},3,2.0,{s},{e}" for s, e in zip(scales, errors)]
    path = tmp_path / "errors.csv"
    path.write_text("\n".join(rows))
    return path


def test_errors_csv_gives_tau_with_a_standard_error(tmp_path):
    result = run("--errors", str(synthetic_csv(tmp_path)), "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["tau"] == pytest.approx(0.6, abs=max(5 * out["tau_stderr"], 0.01))
    assert 0 < out["tau_stderr"] < 0.05
    assert len(out["inputs"]) == 6
    assert sorted(round(item["isr"], 9) for item in out["inputs"]) == [1.5, 1.5, 3.0, 3.0, 6.0, 6.0]
    assert all(item["c_ref"] == pytest.approx(1.0) for item in out["inputs"])  # sigma_basis 2 px / sigma_unit 2 px


def test_errors_table_and_plot(tmp_path):
    path = tmp_path / "errors.png"
    result = run("--errors", str(synthetic_csv(tmp_path)), "--plot", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("tau = ") and "+-" in result.stdout.splitlines()[0]
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_errors_netcdf_results_file(tmp_path):
    scales = np.geomspace(0.7, 11, 30)
    isrs = [2.0, 4.0]
    internal_px = np.array([[[2.0 * isr ** (i / 2) for i in range(3)] for isr in isrs]])
    error = np.array([[predicted_errors(scales, px / 2.0, 0.5, 0.05, 0.6) for px in internal_px[0]]])
    dataset = xr.Dataset(
        {
            "error": (("seed", "isr", "data_scale"), error),
            "n": (("data_scale",), np.full(scales.size, 500, dtype=np.int32)),
            "scales": (("seed", "isr", "scale_index"), internal_px),
        },
        coords={"seed": [0], "isr": isrs, "data_scale": scales},
        attrs={"config": json.dumps({"ns": 3, "sigma_unit": 2.0}), "scaletol_version": "0.1.0"},
    )
    path = tmp_path / "results.nc"
    dataset.to_netcdf(path, engine="scipy")
    out = json.loads(run("--errors", str(path), "--json").stdout)
    assert out["tau"] == pytest.approx(0.5, abs=1e-3)
    assert [item["isr"] for item in out["inputs"]] == pytest.approx(isrs)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--dist", "gamma", "--range", "1", "2"], "'gamma'"),
        (["--dist", "loguniform", "--range", "8", "1"], "[8, 1]"),
        (["--dist", "loguniform", "--range", "0", "1"], "lo=0.0"),
        (["--dist", "loguniform", "--range", "1", "nan"], "hi=nan"),
        (["--dist", "loguniform", "--range", "1"], "--range"),
        (["--dist", "loguniform", "--range", "1", "2", "--ns", "0"], "0"),
        (["--dist", "loguniform", "--range", "1", "2", "--ns", "-3"], "-3"),
        (["--dist", "loguniform", "--range", "1", "2", "--ns", "x"], "'x'"),
        ([], "no distribution"),
        (["--errors", "e.csv", "--dist", "loguniform", "--range", "1", "2"], "not both"),
    ],
)
def test_bad_input_is_one_line_naming_the_value_and_status_2(args, named, one_line_error):
    result = run(*args)
    one_line_error(result, named)
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (None, "absent.csv"),
        ("", "is empty"),
        ("data_scale,error,isr,ns,c_ref\n1,oops,2,3,1\n", "'oops'"),
        ("data_scale,error,isr,ns,c_ref\n-1,0.1,2,3,1\n", "'-1'"),
        ("data_scale,error\n1,0.1\n", "missing column"),
    ],
)
def test_bad_errors_files_are_named(tmp_path, content, named, one_line_error):
    path = tmp_path / ("absent.csv" if content is None else "errors.csv")
    if content is not None:
        path.write_text(content)
    plot = tmp_path / "never.png"
    result = run("--errors", str(path), "--plot", str(plot))
    one_line_error(result, named)
    assert not plot.exists()
