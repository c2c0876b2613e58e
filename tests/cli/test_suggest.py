import json

import pytest
from click.testing import CliRunner

from cli.main import main
from tolerance.distributions import make_distribution
from tolerance.fit import suggest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(*args):
    return CliRunner().invoke(main, ["suggest", *args])


def test_prints_a_readable_table():
    result = run("--dist", "loguniform", "--range", "1", "8", "--ns", "3")
    assert result.exit_code == 0, result.stderr
    header, columns, row = result.stdout.splitlines()[:3]
    assert "tau = 0.459 octaves (fixed)" in header and "KL(model||data)" in header
    assert columns.split()[:5] == ["dist", "range", "ns", "c_ref", "ISR"]
    expected = suggest(make_distribution("loguniform", 1, 8), 3)
    assert row.split()[:2] == ["loguniform", "[1,"]
    assert f"{expected.c_ref:.4g}" in row and f"{expected.isr:.4g}" in row and f"{expected.sigma_basis:.4g}" in row


def test_json_holds_the_contract_fields_and_matches_the_library():
    result = run("--dist", "loguniform", "--range", "1", "8", "--ns", "3", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    for key in ("dist", "range", "ns", "tau", "isr", "c_ref", "sigma_basis", "internal_scales", "kl"):
        assert key in out
    expected = suggest(make_distribution("loguniform", 1, 8), 3)
    assert (out["dist"], out["range"], out["ns"], out["tau"]) == ("loguniform", [1.0, 8.0], 3, 0.459)
    assert out["c_ref"] == pytest.approx(expected.c_ref) and out["isr"] == pytest.approx(expected.isr)
    assert out["internal_scales"] == pytest.approx(expected.internal_scales.tolist())
    assert out["sigma_basis"] == pytest.approx(2.0 * out["c_ref"])


def test_options_reach_the_fit():
    result = run(
        "--dist",
        "uniform",
        "--range",
        "0.5",
        "4",
        "--ns",
        "4",
        "--tau",
        "0.3",
        "--isr",
        "3",
        "--sigma-unit",
        "1.5",
        "--kl-direction",
        "data-model",
        "--padding",
        "0.2",
        "--json",
    )
    out = json.loads(result.stdout)
    assert (out["tau"], out["ns"], out["kl_direction"], out["padding"]) == (0.3, 4, "data-model", 0.2)
    assert out["isr"] == pytest.approx(3.0) and out["fixed"] == ["tau", "isr"]
    assert out["sigma_basis"] == pytest.approx(1.5 * out["c_ref"])
    fixed_c_ref = json.loads(run("--dist", "uniform", "--range", "0.5", "4", "--c-ref", "0.8", "--json").stdout)
    assert fixed_c_ref["c_ref"] == pytest.approx(0.8)


def test_std_sets_the_spread_of_lognormal_and_truncnormal():
    lognormal = json.loads(run("--dist", "lognormal", "--range", "1", "16", "--std", "0.5", "--json").stdout)
    assert lognormal["distribution"] == {"name": "lognormal", "mean_log2": 2.0, "std_log2": 0.5}
    assert lognormal["range"] == pytest.approx([2.0, 8.0])  # mean ± 2 std
    truncnormal = json.loads(run("--dist", "truncnormal", "--range", "1", "9", "--std", "3", "--json").stdout)
    assert truncnormal["distribution"]["std"] == 3.0


def test_ns_auto_reports_the_scan_and_the_rule():
    result = run("--dist", "loguniform", "--range", "1", "8", "--ns", "auto", "--json")
    out = json.loads(result.stdout)
    assert [item["ns"] for item in out["ns_scan"]] == list(range(1, 9))
    assert "0.01 nats" in out["ns_rule"]
    best = min(item["kl"] for item in out["ns_scan"])
    assert out["ns"] == min(item["ns"] for item in out["ns_scan"] if item["kl"] <= best + 0.01)
    table = run("--dist", "loguniform", "--range", "1", "8", "--ns", "auto").stdout
    assert "<- chosen" in table


def test_one_dist_applies_to_every_range():
    result = run("--dist", "loguniform", "--range", "1", "2", "--range", "1", "8", "--json")
    items = json.loads(result.stdout)["inputs"]
    assert [(item["dist"], item["range"]) for item in items] == [("loguniform", [1.0, 2.0]), ("loguniform", [1.0, 8.0])]
    assert items[1]["isr"] > items[0]["isr"]
    table = run("--dist", "loguniform", "--range", "1", "2", "--range", "1", "8").stdout
    assert len([line for line in table.splitlines() if line.startswith("loguniform")]) == 2


def test_empirical_file_and_column(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("id,scale\n" + "\n".join(f"{i},{1 + 7 * i / 99}" for i in range(100)))
    out = json.loads(run("--dist", "empirical", "--file", str(path), "--column", "scale", "--json").stdout)
    assert out["dist"] == "empirical" and out["range"] == pytest.approx([1.0, 8.0])


def test_plot_writes_a_png(tmp_path):
    path = tmp_path / "suggest.png"
    result = run("--dist", "loguniform", "--range", "1", "8", "--ns", "auto", "--plot", str(path))
    assert result.exit_code == 0, result.stderr
    assert path.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--dist", "gamma", "--range", "1", "2"], "'gamma'"),
        (["--dist", "loguniform", "--range", "8", "1"], "[8, 1]"),
        (["--dist", "loguniform", "--range", "0", "1"], "lo=0.0"),
        (["--dist", "loguniform", "--range", "1", "nan"], "hi=nan"),
        (["--dist", "loguniform", "--range", "1", "inf"], "hi=inf"),
        (["--dist", "loguniform", "--range", "1"], "--range"),
        (["--dist", "loguniform", "--range", "one", "2"], "'one'"),
        (["--dist", "loguniform", "--range", "1", "2", "--ns", "0"], "'0'"),
        (["--dist", "loguniform", "--range", "1", "2", "--ns", "-3"], "'-3'"),
        (["--dist", "loguniform", "--range", "1", "2", "--ns", "many"], "'many'"),
        (["--dist", "loguniform", "--range", "1", "2", "--tau", "-1"], "tau=-1.0"),
        (["--dist", "loguniform", "--range", "1", "2", "--tau", "abc"], "'abc'"),
        (["--dist", "loguniform", "--range", "1", "2", "--isr", "0.5"], "isr=0.5"),
        (["--dist", "loguniform", "--range", "1", "2", "--sigma-unit", "0"], "sigma_unit=0.0"),
        (["--dist", "loguniform", "--range", "1", "2", "--padding", "-0.4"], "padding=-0.4"),
        (["--dist", "loguniform", "--dist", "uniform", "--range", "1", "2"], "2 distributions but 1 ranges"),
        (["--range", "1", "2"], "no distribution"),
    ],
)
def test_bad_input_is_one_line_naming_the_value_and_status_2(args, named, one_line_error):
    result = run(*args)
    one_line_error(result, named)
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (None, "absent.txt"),
        ("", "holds no scales"),
        ("1.5\nbig\n", "'big'"),
        ("1.5\n-2\n", "'-2'"),
    ],
)
def test_bad_scale_files_are_named(tmp_path, content, named, one_line_error):
    path = tmp_path / "absent.txt" if content is None else tmp_path / "scales.txt"
    if content is not None:
        path.write_text(content)
    result = run("--dist", "empirical", "--file", str(path))
    one_line_error(result, named)


def test_nothing_is_written_when_the_input_is_bad(tmp_path):
    path = tmp_path / "figure.png"
    result = run("--dist", "loguniform", "--range", "8", "1", "--plot", str(path))
    assert result.exit_code == 2 and not path.exists()
    missing_folder = run("--dist", "loguniform", "--range", "1", "8", "--plot", str(tmp_path / "no" / "f.png"))
    assert missing_folder.exit_code == 2 and "does not exist" in missing_folder.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_states_units():
    result = run("--help")
    assert result.exit_code == 0
    for unit in ("[octaves]", "[px]", "magnification factors"):
        assert unit in result.stdout
