import json

import pytest

from scaletol.results import read_results

TINY = [
    "--limit-train",
    "8",
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
    "--max-kernel",
    "7",
    "--quiet",
]


def test_isr_sweep_resumes_merges_and_validates_against_the_tolerance_model(data_dir, tmp_path, tolcli):
    out = tmp_path / "sweep"
    args = ["sweep", "--model", "toy-fixed", "--isr", "2", "--isr", "6", "--range", "1", "8", *TINY, "--out", out]
    first = tolcli(*args, "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert (report["cells"], report["trained"]) == (2, 2)
    assert [row["isr"] for row in report["summary"]] == [2.0, 6.0]
    again = tolcli(*args, "--json")
    assert json.loads(again.stdout)["trained"] == 0
    assert read_results(out / "results.nc")["test_error"].shape == (1, 2)

    fig3, fig4 = tmp_path / "fig3.png", tmp_path / "fig4.pdf"
    checked = tolcli("validate", out / "results.nc", "--fig3", fig3, "--fig4", fig4, "--json")
    assert checked.exit_code == 0, checked.output
    [row] = json.loads(checked.stdout)["ranges"]
    assert (row["range_lo"], row["range_hi"]) == (1.0, 8.0)
    assert row["suggested_isr"] == pytest.approx(6.320, rel=0.02)  # thesis Fig. 5: ISR 6.320 for [1, 8]
    assert row["best_isr"] in (2.0, 6.0) and row["nearest_isr"] == 6.0
    assert fig3.read_bytes().startswith(b"\x89PNG") and fig4.read_bytes().startswith(b"%PDF")
    table = tolcli("validate", out / "results.nc")
    assert "suggested ISR" in table.stdout and "[1, 8]" in table.stdout


def test_models_sweep_labels_rows_by_model(data_dir, tmp_path, tolcli):
    result = tolcli(
        "sweep",
        "--models",
        "mnist-scale-cnn,mnist-scale-sesn",
        "--dataset",
        "mnist-scale",
        "--seeds",
        "0,1",
        *TINY[:-3],
        "--max-kernel",
        "5",
        "--quiet",
        "--out",
        tmp_path,
        "--json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["summary"]
    assert [row["model"] for row in rows] == ["mnist-scale-cnn", "mnist-scale-sesn"]
    assert [row["seeds_count"] for row in rows] == [2, 2]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--model", "toy-fixed"], "--isr"),
        (["--model", "toy-fixed", "--isr", "2", "--isr-grid", "1.5", "7.65", "3"], "not both"),
        (["--models", "toy-fixed", "--isr", "2"], "--models"),
        (["--model", "toy-fixed", "--isr", "2", "--isr", "2"], "2.0"),
        (["--model", "toy-fixed", "--isr", "2", "--seeds", "0,-1"], "0,-1"),
        (["--isr", "2"], "--model"),
    ],
)
def test_bad_sweeps_are_one_line(args, named, data_dir, tmp_path, tolcli, one_line_error):
    one_line_error(tolcli("sweep", *args, "--out", tmp_path / "sweep"), named)
    assert not (tmp_path / "sweep").exists()


def test_validate_refuses_a_file_that_is_not_results(tmp_path, tolcli, one_line_error):
    junk = tmp_path / "junk.nc"
    junk.write_text("nope")
    one_line_error(tolcli("validate", junk), "junk.nc")
