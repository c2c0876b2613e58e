import json

import pytest

from scaletol.results import read_results

TINY = [
    "--limit-train",
    "16",
    "--limit-val",
    "8",
    "--limit-test",
    "8",
    "--batch-size",
    "8",
    "--epochs",
    "1",
    "--eval-per-octave",
    "0.5",
    "--eval-limit",
    "4",
    "--quiet",
]
CNN = ["--model", "mnist-scale-cnn", "--dataset", "mnist-scale", *TINY]


def test_train_prints_one_json_object_and_writes_the_run(data_dir, tmp_path, tolcli, one_line_error):
    out = tmp_path / "run"
    result = tolcli("train", *CNN, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"test_error", "val_error", "sigma_basis", "isr", "scales", "epochs", "samples_per_s"} <= set(summary)
    assert summary["epochs"] == 1 and 0 <= summary["test_error"] <= 1
    assert {p.name for p in out.iterdir()} == {"config.json", "checkpoint.pt", "metrics.csv", "results.nc"}
    assert read_results(out / "results.nc")["test_error"].item() == summary["test_error"]

    again = tolcli("train", "--out", out, "--resume", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["test_error"] == summary["test_error"]

    one_line_error(tolcli("train", *CNN, "--out", out), "already holds a run")
    one_line_error(tolcli("train", "--out", out, "--resume", "--lr", "0.5"), "lr")

    evaluated = tolcli("evaluate", out, "--eval-range", "0.5", "1", "--eval-per-octave", "1", "--json", "--quiet")
    assert evaluated.exit_code == 0, evaluated.output
    per_scale = json.loads(evaluated.stdout)
    assert per_scale["data_scale"] == pytest.approx([0.5, 1.0]) and per_scale["n"] == [4, 4]
    assert per_scale["test_error"] == summary["test_error"]


def test_train_reads_mnist_from_data_option(data_dir, tmp_path, monkeypatch, tolcli, one_line_error):
    monkeypatch.delenv("SCALETOL_DATA")
    one_line_error(tolcli("train", *CNN, "--out", tmp_path / "a"), "SCALETOL_DATA")
    result = tolcli(
        "train",
        "--model",
        "toy-isr",
        "--max-kernel",
        "7",
        "--range",
        "1",
        "2.83",
        *TINY,
        "--data",
        data_dir,
        "--out",
        tmp_path / "b",
    )
    assert result.exit_code == 0, result.output
    assert "σ_basis" in result.stdout and "results.nc" in result.stdout


def test_fewer_training_samples_than_a_batch_make_one_batch(data_dir, tmp_path, tolcli, one_line_error):
    small = [
        "--limit-train",
        "12",
        "--limit-val",
        "8",
        "--limit-test",
        "8",
        "--epochs",
        "1",
        "--eval-per-octave",
        "0.5",
        "--eval-limit",
        "4",
        "--quiet",
    ]
    result = tolcli(
        "train",
        "--model",
        "mnist-scale-cnn",
        "--dataset",
        "mnist-scale",
        *small,
        "--out",
        tmp_path / "one-batch",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "one-batch" / "config.json").read_text())["batch_size"] == 12
    one_line_error(
        tolcli(
            "train",
            "--model",
            "mnist-scale-cnn",
            "--dataset",
            "mnist-scale",
            *small,
            "--batch-size",
            "16",
            "--out",
            tmp_path / "too-big",
        ),
        "batch_size=16",
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--model", "resnet"], "resnet"),
        (["--model", "toy-isr", "--range", "8", "1"], "(8.0, 1.0)"),
        (["--model", "toy-isr", "--dist", "cauchy"], "cauchy"),
        (["--model", "toy-isr", "--epochs", "0"], "epochs"),
        (["--model", "toy-isr", "--device", "tpu"], "tpu"),
        (["--model", "toy-isr", "--scales", "2,x"], "2,x"),
        ([], "--model"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(args, named, data_dir, tmp_path, tolcli, one_line_error):
    one_line_error(tolcli("train", *args, "--out", tmp_path / "run"), named)
    assert not (tmp_path / "run").exists()


def test_evaluate_needs_a_run(tmp_path, tolcli, one_line_error):
    one_line_error(tolcli("evaluate", tmp_path), "config.json")


def test_the_dataset_is_inferred_from_the_model(data_dir, tmp_path, tolcli, one_line_error):
    out = tmp_path / "inferred"
    result = tolcli("train", "--model", "mnist-scale-cnn", *TINY, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["dataset"] == "mnist-scale"
    assert json.loads((out / "config.json").read_text())["dataset"] == "mnist-scale"
    conflict = tolcli("train", "--model", "mnist-scale-sesn", "--dataset", "dynamic-mnist", "--out", tmp_path / "c")
    one_line_error(conflict, "mnist-scale-sesn", "dynamic-mnist")
    assert not (tmp_path / "c").exists()


def test_help_shows_the_defaults_of_the_catalog_and_the_config(tolcli):
    from scaletol.datasets import DATASETS
    from sesn.train.config import BATCH_SIZE

    def bare(text):  # help lines wrap anywhere, hyphens included
        return "".join(text.split())

    text = bare(tolcli("train", "--help").stdout)
    warmups = ", ".join(f"{info.scale_warmup} {name}" for name, info in DATASETS.items())
    val = ", ".join(f"{info.sizes[1]} {name}" for name, info in DATASETS.items())
    assert bare(f"[default: {warmups}]") in text
    assert bare(f"[default: {BATCH_SIZE}, or all training samples if fewer]") in text
    assert bare(f"Validation samples [default: {val}]") in text


def test_model_help_names_exactly_the_registered_models():
    from cli.train import BASELINES, LEARNABLE
    from sesn.baselines import NETWORKS
    from sesn.models import LEARNABLE_MODES, MODELS

    assert LEARNABLE == LEARNABLE_MODES and sorted(BASELINES) == sorted(NETWORKS)
    named = (
        [f"toy-{mode}" for mode in ("fixed", *LEARNABLE)]
        + [f"mnist-scale-{mode}" for mode in LEARNABLE]
        + [f"mnist-scale-{name}" for name in ("sesn", "disco", "cnn", *BASELINES)]
    )
    assert sorted(named) == sorted(MODELS)


def test_train_init_suggest_starts_from_the_suggested_scales(data_dir, tmp_path, tolcli, one_line_error):
    from sesn.nn.scales import InternalScales
    from tolerance.distributions import make_distribution
    from tolerance.fit import DEFAULT_SIGMA_UNIT, suggest

    toy = ["--model", "toy-fixed", "--max-kernel", "7", "--dist", "loguniform", "--range", "1", "8", *TINY]
    out = tmp_path / "run"
    result = tolcli("train", *toy, "--init", "suggest", "--out", out, "--json")
    assert result.exit_code == 0, result.output
    expected = InternalScales.from_suggestion(
        suggest(make_distribution("loguniform", 1, 8), 3, sigma_unit=DEFAULT_SIGMA_UNIT), mode="fixed"
    ).values
    config = json.loads((out / "config.json").read_text())
    assert config["init"] == "suggest"
    assert [config["sigma_basis"], config["isr"]] == pytest.approx([expected[0], expected[-1] / expected[0]])
    attrs = json.loads(read_results(out / "results.nc").attrs["config"])
    assert attrs["init"] == "suggest" and attrs["initial_scales"] == pytest.approx(expected)
    assert [attrs["sigma_basis"], attrs["isr"]] == pytest.approx([expected[0], expected[-1] / expected[0]])

    for given in (["--isr", "3"], ["--sigma-basis", "2"]):
        one_line_error(tolcli("train", *toy, "--init", "suggest", *given, "--out", tmp_path / "b"), given[0], "--init")
    assert not (tmp_path / "b").exists()
