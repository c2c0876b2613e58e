import json

import numpy as np
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
    assert out["dist"] == "empirical"
    assert (out["distribution"]["lo"], out["distribution"]["hi"]) == pytest.approx((1.0, 8.0))
    assert out["distribution"]["n"] == 100
    # the range is the estimate's support: the bounds lie about one spacing past the outermost scales
    lo, hi = out["range"]
    assert 1.0 / 2**0.11 < lo < 1.0 and 8.0 < hi < 8.0 * 2**0.02
    table = run("--dist", "empirical", "--file", str(path), "--column", "scale").stdout
    assert table.splitlines()[0].startswith("empirical: 100 observations, scales 1 to 8; lower end bounded")


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
    observed = json.loads(result.stdout)["distribution"]
    assert (observed["n"], observed["lo"], observed["hi"]) == (100, pytest.approx(1.0), pytest.approx(8.0))


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


def write_coco(path, sizes, *, categories=(("person", 1),), crowd_size=None):
    """A COCO file with square boxes of the given sides [px], category ids cycling."""
    ids = [cid for _, cid in categories]
    annotations = [
        {"id": i, "bbox": [0, 0, size, size], "category_id": ids[i % len(ids)], "iscrowd": 0}
        for i, size in enumerate(sizes)
    ]
    if crowd_size is not None:
        annotations.append({"id": -1, "bbox": [0, 0, crowd_size, crowd_size], "category_id": ids[0], "iscrowd": 1})
    categories = [{"id": cid, "name": name} for name, cid in categories]
    path.write_text(json.dumps({"images": [], "annotations": annotations, "categories": categories}))
    return path


def box_sides(n, seed=0):
    """n sides [px] log-uniform over [16, 128]."""
    return (16 * 2 ** np.random.default_rng(seed).uniform(0, 3, size=n)).round(2).tolist()


def test_boxes_print_counts_and_histogram_before_the_fit(tmp_path):
    sides = [20, 30, 40, 50, 60, 70, 100, 120] + box_sides(40)
    path = write_coco(tmp_path / "instances.json", sides, crowd_size=400)
    result = run("--dist", "empirical", "--boxes", str(path), "--ref-size", "32")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    small = sum(s < 32 for s in sides)
    large = sum(s > 96 for s in sides)
    medium = 48 - small - large
    assert lines[0].startswith(f"48 objects in {path}: {small} small (< 32 px), {medium} medium, {large} large")
    histogram = {line.split(")")[0].strip() + ")": int(line.split()[4]) for line in lines[2:5]}
    scales = np.array(sides) / 32
    assert histogram == {
        "[0.5, 1)": int(np.sum(scales < 1)),
        "[1, 2)": int(np.sum((scales >= 1) & (scales < 2))),
        "[2, 4)": int(np.sum(scales >= 2)),
    }
    assert any(line.startswith("empirical: 48 observations") for line in lines)
    assert any(line.startswith("empirical  [") for line in lines)  # the suggestion table follows


def test_boxes_json_carries_the_counts_and_the_scales_are_sizes_over_ref_size(tmp_path):
    sides = box_sides(60)
    path = write_coco(tmp_path / "instances.json", sides, categories=(("person", 1), ("car", 2)))
    out = json.loads(run("--dist", "empirical", "--boxes", str(path), "--ref-size", "16", "--json").stdout)
    assert out["boxes"]["count"] == 60 and out["distribution"]["n"] == 60
    assert out["distribution"]["lo"] == pytest.approx(min(sides) / 16)
    assert sum(item["count"] for item in out["boxes"]["histogram"]) == 60
    cars = json.loads(
        run("--dist", "empirical", "--boxes", str(path), "--ref-size", "16", "--category", "car", "--json").stdout
    )
    assert cars["boxes"]["count"] == 30
    assert cars["distribution"]["hi"] == pytest.approx(max(sides[1::2]) / 16)


def test_boxes_from_yolo_labels_and_csv(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    sides = box_sides(30, seed=1)
    for i, side in enumerate(sides):
        (labels / f"img{i}.txt").write_text(f"0 0.5 0.5 {side / 640} {side / 640}\n")
    yolo = json.loads(
        run("--dist", "empirical", "--boxes", str(labels), "--image-size", "640", "--ref-size", "16", "--json").stdout
    )
    csv_path = tmp_path / "boxes.csv"
    csv_path.write_text("width,height\n" + "\n".join(f"{s},{s}" for s in sides))
    from_csv = json.loads(run("--dist", "empirical", "--boxes", str(csv_path), "--ref-size", "16", "--json").stdout)
    assert yolo["boxes"]["count"] == from_csv["boxes"]["count"] == 30
    assert yolo["c_ref"] == pytest.approx(from_csv["c_ref"], rel=1e-6)
    assert yolo["isr"] == pytest.approx(from_csv["isr"], rel=1e-6)


def test_bootstrap_reports_intervals_in_table_and_json_deterministically(tmp_path):
    path = tmp_path / "scales.txt"
    path.write_text("\n".join(str(2 ** (3 * (i + 0.5) / 50)) for i in range(50)))
    args = ("--dist", "empirical", "--file", str(path), "--bootstrap", "40", "--seed", "3")
    first = json.loads(run(*args, "--json").stdout)
    again = json.loads(run(*args, "--json").stdout)
    other = json.loads(run(*args[:-1], "4", "--json").stdout)
    interval = first["bootstrap"]
    assert interval == again["bootstrap"] and interval != other["bootstrap"]
    assert (interval["resamples"], interval["seed"], interval["percentiles"]) == (40, 3, [2.5, 97.5])
    for name in ("c_ref", "isr", "sigma_basis"):
        low, high = interval[name]
        assert low <= first[name] <= high
    assert interval["sigma_basis"] == pytest.approx([2.0 * v for v in interval["c_ref"]])
    result = run(*args, "--quiet")
    assert result.exit_code == 0 and result.stderr == ""
    assert "bootstrap: 40 resamples of the 50 observations (seed 3)" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("ISR"))
    assert row.split()[1:] == [f"{first['isr']:.4g}", f"{interval['isr'][0]:.4g}", f"{interval['isr'][1]:.4g}"]


@pytest.mark.parametrize("ns", ["3", "auto"])
def test_plot_with_boxes_writes_a_png(tmp_path, ns):
    path = write_coco(tmp_path / "instances.json", box_sides(40))
    figure = tmp_path / "boxes.png"
    result = run("--dist", "empirical", "--boxes", str(path), "--ref-size", "32", "--ns", ns, "--plot", str(figure))
    assert result.exit_code == 0, result.stderr
    assert figure.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--dist", "empirical", "--boxes", "{coco}"], "needs --ref-size"),
        (["--dist", "empirical", "--boxes", "{coco}", "--ref-size", "0"], "--ref-size=0.0 must be"),
        (["--dist", "loguniform", "--range", "1", "2", "--boxes", "{coco}", "--ref-size", "8"], "--dist empirical"),
        (["--dist", "empirical", "--boxes", "{coco}", "--file", "{coco}", "--ref-size", "8"], "give one"),
        (["--dist", "empirical", "--boxes", "{coco}", "--ref-size", "8", "--category", "cat"], "(categories: person)"),
        (["--dist", "empirical", "--boxes", "{coco}", "--ref-size", "8", "--image-size", "64"], "YOLO"),
        (["--dist", "empirical", "--boxes", "{latin1}", "--ref-size", "8"], "latin1.json line 1: not UTF-8"),
        (["--dist", "empirical", "--boxes", "{broken}", "--ref-size", "8"], "broken.json: not valid JSON"),
        (["--dist", "loguniform", "--range", "1", "2", "--image-size", "64"], "--image-size=64.0 applies to --boxes"),
        (["--dist", "loguniform", "--range", "1", "2", "--bootstrap", "50"], "needs --dist empirical"),
        (["--dist", "empirical", "--boxes", "{coco}", "--ref-size", "8", "--bootstrap", "5"], "--bootstrap=5 must be"),
        (["--dist", "loguniform", "--range", "1", "2", "--seed", "4"], "--seed=4 applies to --bootstrap only"),
    ],
)
def test_bad_box_and_bootstrap_options_are_one_line_errors(tmp_path, args, named, one_line_error):
    files = {
        "coco": write_coco(tmp_path / "instances.json", box_sides(30)),
        "latin1": tmp_path / "latin1.json",
        "broken": tmp_path / "broken.json",
    }
    files["latin1"].write_bytes('{"annotations": [], "info": "caf\u00e9"}'.encode("latin-1"))
    files["broken"].write_text('{"annotations": [1,')
    result = run(*[arg.format(**{k: str(v) for k, v in files.items()}) for arg in args])
    one_line_error(result, named)
    assert result.stdout == ""
