"""Every baseline trains, evaluates and sweeps through tolcli like the CNN:
one epoch on a tiny fake MNIST-Scale (and its "+" variant)."""

import json

import pytest
from click.testing import CliRunner

from cli.main import main
from scaletol.results import read_results
from sesn.baselines import NETWORKS

BASELINES = [f"mnist-scale-{name}" for name in NETWORKS]
TINY = ["--dataset", "mnist-scale", "--limit-train", "8", "--limit-val", "4", "--limit-test", "4"]
TINY += ["--batch-size", "4", "--epochs", "1", "--eval-per-octave", "0.2", "--eval-limit", "2", "--quiet"]


@pytest.fixture
def tolcli(fake_mnist, monkeypatch):
    monkeypatch.setenv("SCALETOL_DATA", str(fake_mnist(48, 16)))
    return lambda *args: CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("model", BASELINES)
def test_tolcli_trains_each_baseline_for_one_epoch(model, tolcli, tmp_path):
    out = tmp_path / "run"
    result = tolcli("train", "--model", model, *TINY, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["epochs"] == 1 and 0 <= summary["test_error"] <= 1
    assert summary["scales"] == [] and summary["isr"] is None  # no InternalScales
    results = read_results(out / "results.nc")
    assert results["test_error"].item() == summary["test_error"] and (results["n"] == 2).all()


def test_tolcli_sweeps_the_baselines_with_augmentation(tolcli, tmp_path):
    models = ",".join(["mnist-scale-cnn", "mnist-scale-dss"])
    result = tolcli("sweep", "--models", models, "--augment", *TINY, "--out", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["summary"]
    assert [row["model"] for row in rows] == ["mnist-scale-cnn", "mnist-scale-dss"]
    configs = json.loads(read_results(tmp_path / "results.nc").attrs["configs"])
    assert [c["augment"] for c in configs.values()] == [True, True]


def test_baselines_take_no_scale_options(tolcli, tmp_path):
    result = tolcli("train", "--model", "mnist-scale-sicnn", "--max-kernel", "7", *TINY, "--out", tmp_path / "r")
    assert result.exit_code == 2 and "max_kernel" in result.stderr
