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


def sweep_file(tmp_path, shape):
    """A results file shaped like those `tolcli sweep` writes, built with scaletol.results:
    'isr' (one Dynamic Scale MNIST range, an ISR grid), 'ranges' (a config grid over data
    ranges) or 'models' (a config grid of models on MNIST-Scale, one of them a plain CNN)."""
    from scaletol.results import as_config_cell, merge_results, run_results, write_results

    grid = np.geomspace(2**-0.5, 2**3.5, 12)
    parts = []
    cells = {
        "isr": [((1.0, 8.0), isr, "toy") for isr in (2.0, 4.0)],
        "ranges": [((1.0, hi), isr, "toy") for hi in (2.83, 8.0) for isr in (2.0, 4.0)],
        "models": [((0.3, 1.0), 2.0, "sesn"), ((0.3, 1.0), 2.0, "cnn")],
    }[shape]
    for index, ((lo, hi), isr, model) in enumerate(cells):
        for seed in (0, 1):
            px = [] if model == "cnn" else [2.0 * isr ** (i / 2) for i in range(3)]
            error = predicted_errors(grid, np.array(px or [1.0]) / 2.0, 0.5, 0.02 + 0.01 * seed, 0.6)
            description = {
                "seed": seed,
                "ns": 3,
                "sigma_unit": 2.0,
                "model": model,
                "dataset": "mnist-scale" if shape == "models" else "dynamic-mnist",
                "dist": "loguniform",
                "range": [lo, hi],
                "mode": "fixed",
                "isr": isr,
            }
            run = run_results(
                description=description,
                data_scale=grid,
                error=error,
                n=np.full(grid.size, 400),
                scales=px,
                test_error=0.03,
                val_error=0.03,
                isr=isr,
            )
            labels = {"range_lo": lo, "range_hi": hi} if shape == "ranges" else {}
            parts.append(run if shape == "isr" else as_config_cell(run, index, **labels))
    return write_results(merge_results(parts), tmp_path / "results.nc")


@pytest.mark.parametrize("shape", ["isr", "ranges", "models"])
def test_errors_of_every_sweep_file_fit_and_plot(tmp_path, shape):
    path, figure = sweep_file(tmp_path, shape), tmp_path / "errors.png"
    result = run("--errors", str(path), "--plot", str(figure), "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["tau"] == pytest.approx(0.5, abs=0.01) and out["success"] and out["weighted"]
    assert len(out["inputs"]) == {"isr": 4, "ranges": 8, "models": 2}[shape]  # the CNN has no scales
    first = out["inputs"][0]
    assert first["internal_scales_px"] == pytest.approx([2.0 * s for s in first["internal_scales"]])
    assert {"label", "floor", "gain", "points", "c_ref", "isr"} <= set(first)
    if shape != "models":
        assert first["label"]["range"] in ("1-8", "1-2.83")
    assert figure.read_bytes()[:8] == PNG_MAGIC


def test_a_model_column_keeps_runs_apart(tmp_path):
    """Two seeds of each ISR: without `model` they would be merged into one model per ISR."""
    rng = np.random.default_rng(3)
    scales = np.geomspace(2**-0.5, 2**3.5, 20)
    rows = ["model,isr,ns,c_ref,data_scale,error_pct"]
    for isr in (2.0, 4.0):
        for seed, floor in ((0, 0.02), (1, 0.06)):
            internal = isr ** (np.arange(3) / 2)
            errors = predicted_errors(scales, internal, 0.6, floor, 0.5) + rng.normal(0, 0.002, scales.size)
            rows += [f"isr{isr:g} seed {seed},{isr},3,1,{s},{100 * e}" for s, e in zip(scales, errors)]
    path = tmp_path / "errors.csv"
    path.write_text("\n".join(rows))
    out = json.loads(run("--errors", str(path), "--json").stdout)
    assert [item["label"] for item in out["inputs"]] == [
        {"model": "isr2 seed 0"},
        {"model": "isr2 seed 1"},
        {"model": "isr4 seed 0"},
        {"model": "isr4 seed 1"},
    ]
    assert [item["floor"] for item in out["inputs"]] == pytest.approx([0.02, 0.06, 0.02, 0.06], abs=0.005)
    assert out["tau"] == pytest.approx(0.6, abs=0.02)
    assert out["rms"] < 0.004  # merged runs would leave the floor difference (0.02) in the residual


def test_errors_that_do_not_depend_on_scale_are_not_identifiable(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["isr,ns,c_ref,data_scale,accuracy"]
    for isr in (2.0, 4.0, 8.0):
        rows += [f"{isr},3,1,{s},{0.95 + rng.normal(0, 0.003)}" for s in np.geomspace(0.5, 16, 25)]
    path = tmp_path / "flat.csv"
    path.write_text("\n".join(rows))
    out = json.loads(run("--errors", str(path), "--json").stdout)
    assert out["success"] is False and "not identifiable" in out["message"]
    assert out["tau_stderr"] is None
    table = run("--errors", str(path)).stdout
    assert "NOT IDENTIFIABLE" in table and "+- 0" not in table


def test_negative_gains_are_reported(tmp_path):
    scales = np.geomspace(0.5, 16, 25)
    rows = ["model,isr,ns,c_ref,data_scale,error"]
    for name, gain in (("good", 0.6), ("odd", -0.05)):
        errors = predicted_errors(scales, 2.0 ** np.arange(3), 0.5, 0.1, gain)
        rows += [f"{name},4,3,1,{s},{e}" for s, e in zip(scales, errors)]
    path = tmp_path / "errors.csv"
    path.write_text("\n".join(rows))
    out = json.loads(run("--errors", str(path), "--json").stdout)
    assert [item["gain"] for item in out["inputs"]] == pytest.approx([0.6, -0.05], abs=1e-6)
    assert len(out["warnings"]) == 1 and "model=odd" in out["warnings"][0]
    assert "warning: gain -0.05 < 0 for model=odd" in run("--errors", str(path)).stdout


def test_binomial_weights_trust_points_with_more_test_samples(tmp_path):
    """Two points of each model are off by 0.15; with n = 10 there and 10 000 elsewhere the fit
    all but ignores them."""
    scales = np.geomspace(0.5, 16, 25)
    rows = ["isr,ns,c_ref,data_scale,error,n"]
    off = (4, 20)
    for isr in (2.0, 4.0):
        errors = predicted_errors(scales, isr ** (np.arange(3) / 2), 0.7, 0.05, 0.5)
        errors[list(off)] += 0.15
        rows += [f"{isr},3,1,{s},{e},{10 if i in off else 10000}" for i, (s, e) in enumerate(zip(scales, errors))]
    path = tmp_path / "errors.csv"
    path.write_text("\n".join(rows))
    weighted = json.loads(run("--errors", str(path), "--json").stdout)
    path.write_text("\n".join(row.rsplit(",", 1)[0] for row in rows))
    unweighted = json.loads(run("--errors", str(path), "--json").stdout)
    assert weighted["weighted"] and not unweighted["weighted"]
    assert abs(weighted["tau"] - 0.7) < 0.1 * abs(unweighted["tau"] - 0.7)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"\x00\x01binary", "is a binary file"),
        ("isr,ns\ncaf\xe9,1\n".encode("latin-1"), "line 2: not UTF-8 text"),
        (b"data_scale,error\n" + b"1" * 200_000 + b",0.1\n", "line 2: a field longer than"),
    ],
)
def test_unreadable_errors_files_are_named(tmp_path, content, named, one_line_error):
    path = tmp_path / "errors.csv"
    path.write_bytes(content)
    one_line_error(run("--errors", str(path)), "errors.csv", named)


def test_an_excel_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = synthetic_csv(tmp_path)
    path.write_text("\ufeff" + path.read_text(), encoding="utf-8")
    result = run("--errors", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["inputs"][0]["label"]["seed"] == 0


@pytest.mark.parametrize(
    ("option", "value"), [("--padding", "0.3"), ("--ns", "2"), ("--kl-direction", "data-model"), ("--std", "1")]
)
def test_options_of_the_combined_fit_are_rejected_with_errors(tmp_path, option, value, one_line_error):
    one_line_error(run("--errors", str(synthetic_csv(tmp_path)), option, value), option, "not to --errors")


def test_an_unwritable_plot_is_named_before_the_fit(tmp_path, one_line_error, monkeypatch):
    import tolerance.errors_fit

    def never(*args):
        raise AssertionError("the fit ran before the plot path was checked")

    monkeypatch.setattr(tolerance.errors_fit, "fit_tau_from_errors", never)
    (tmp_path / "a-file").write_text("")
    target = tmp_path / "a-file" / "fig.png"  # a folder that is a file: unwritable even for root
    one_line_error(run("--errors", str(synthetic_csv(tmp_path)), "--plot", str(target)), str(target))


def test_json_round_trips_through_the_result_objects(tmp_path):
    from tolerance.result import CombinedFit, TauFromErrors

    errors = json.loads(run("--errors", str(synthetic_csv(tmp_path)), "--json").stdout)
    assert TauFromErrors.from_dict(errors).to_dict() == errors
    combined = json.loads(run("--dist", "loguniform", "--range", "1", "2", "--range", "1", "4", "--json").stdout)
    assert CombinedFit.from_dict(combined).to_dict() == combined
