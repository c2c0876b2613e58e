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


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (
            ["--dist", "loguniform", "--range", "1", "8", "--ns", "100000000"],
            "ns=100000000 must be an integer in [1, 16]",
        ),
        (["--dist", "lognormal", "--range", "1", "8", "--std", "1e9"], "std=1000000000.0 must be a finite number in"),
        (["--dist", "loguniform", "--range", "1", "8", "--tau", "1e9"], "tau=1000000000.0 must be a finite number in"),
        (["--dist", "loguniform", "--range", "1", "8", "--padding", "1e300"], "padding=1e+300 must be"),
        (["--dist", "truncnormal", "--range", "1", "8", "--std", "1e-300"], "std=1e-300 must be a finite number in"),
        (["--dist", "loguniform", "--range", "1e-300", "1e300"], "lo=1e-300 must be a finite number in"),
        (["--dist", "loguniform", "--range", "1", "8", "--std", "0.5"], "std=0.5 applies to lognormal and truncnormal"),
        (["--dist", "loguniform", "--range", "1", "8", "--ns-tolerance", "0.1"], "--ns-tolerance applies to --ns auto"),
        (["--dist", "loguniform", "--range", "1", "8", "--ns", "auto", "--ns-tolerance", "-1"], "ns_tolerance=-1.0"),
        (["--dist", "loguniform", "--range", "1", "8", "--sigma-unit", "1e300"], "sigma_unit=1e+300 must be"),
        (["--dist", "loguniform", "--range", "1", "8", "--c-ref", "1e300"], "c_ref=1e+300 must be"),
        (["--dist", "loguniform", *[a for i in range(51) for a in ("--range", "1", str(2 + i))]], "at most 50"),
    ],
)
def test_values_outside_their_stated_ranges_are_named_with_the_range(args, named, one_line_error):
    result = run(*args)
    one_line_error(result, named)
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"\x00\x01\x02binary", "is a binary file"),
        ("1.5\ncaf\xe9\n".encode("latin-1"), "line 2: not UTF-8 text"),
        (b"1.5\n1e-300\n1e300\n", "line 2: scales must be finite numbers in [0.0001, 10000]"),
        (b"1.5\n" + b"1" * 200_000 + b"\n", "line 2: a line longer than"),
    ],
)
def test_unreadable_scale_files_are_named(tmp_path, content, named, one_line_error):
    path = tmp_path / "scales.txt"
    path.write_bytes(content)
    one_line_error(run("--dist", "empirical", "--file", str(path)), "scales.txt", named)


def test_a_huge_csv_field_is_named(tmp_path, one_line_error):
    path = tmp_path / "boxes.csv"
    path.write_text("id,scale\na,1.5\nb," + "2" * 200_000 + "\n")
    result = run("--dist", "empirical", "--file", str(path), "--column", "scale")
    one_line_error(result, "boxes.csv line 3: a field longer than")


def test_an_excel_byte_order_mark_does_not_hide_the_first_column(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("\ufeffscale,id\n" + "\n".join(f"{1 + 7 * i / 99},{i}" for i in range(100)), encoding="utf-8")
    result = run("--dist", "empirical", "--file", str(path), "--column", "scale", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["range"] == pytest.approx([1.0, 8.0])


def test_an_unwritable_plot_is_named_before_any_work(tmp_path, one_line_error, monkeypatch):
    import tolerance.fit

    def never(*args, **kwargs):
        raise AssertionError("the fit ran before the plot path was checked")

    monkeypatch.setattr(tolerance.fit, "suggest", never)
    (tmp_path / "a-file").write_text("")
    target = tmp_path / "a-file" / "figure.png"  # a folder that is a file: unwritable even for root
    one_line_error(run("--dist", "loguniform", "--range", "1", "8", "--plot", str(target)), str(target))
    bad_suffix = tmp_path / "figure.xyz"
    one_line_error(run("--dist", "loguniform", "--range", "1", "8", "--plot", str(bad_suffix)), "figure.xyz")


@pytest.mark.filterwarnings("error")
def test_successful_runs_print_no_warnings_and_json_without_infinities():
    """Every number in the JSON is finite (json.loads would accept Infinity; parse_constant catches it)."""

    def reject(constant):
        raise AssertionError(f"{constant} in the JSON")

    for args in (
        ["--dist", "uniform", "--range", "0.001", "1000", "--ns", "auto", "--json"],
        ["--dist", "truncnormal", "--range", "1", "1.001", "--json"],
        ["--dist", "lognormal", "--range", "1", "8", "--range", "2", "4", "--json"],
    ):
        result = run(*args)
        assert result.exit_code == 0 and result.stderr == "", result.stderr
        json.loads(result.stdout, parse_constant=reject)
