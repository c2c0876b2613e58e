import hashlib
import json

import pytest
from click.testing import CliRunner
from matplotlib.image import imread

from cli.main import main
from sesn.data import mnist as mnist_module

SIZES = ["--sizes", "40", "20", "60"]
DYNAMIC = ["--dataset", "dynamic-mnist", "--dist", "loguniform", "--range", "1", "8"]


@pytest.fixture
def data_dir(fake_mnist, tmp_path, monkeypatch):
    """A fake MNIST of 120 + 40 digits, a private cache, and no $SCALETOL_DATA."""
    monkeypatch.setenv("SCALETOL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SCALETOL_DATA", raising=False)
    return fake_mnist(120, 40)


def run(*args):
    return CliRunner().invoke(main, ["data", *args])


def make_json(data_dir, *args):
    result = run("make", "--data", str(data_dir), "--json", *SIZES, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("dataset", [["--dataset", "mnist-scale"], DYNAMIC])
def test_make_prints_sizes_and_checksums_that_repeat_with_the_seed(data_dir, dataset):
    first = make_json(data_dir, *dataset, "--seed", "0")
    again = make_json(data_dir, *dataset, "--seed", "0")
    other = make_json(data_dir, *dataset, "--seed", "1")
    assert [first["splits"][name]["size"] for name in ("train", "val", "test")] == [40, 20, 60]
    for name, split in first["splits"].items():
        assert set(split["sha256"]) == {"images", "labels", "scales"}
        assert all(len(digest) == 64 for digest in split["sha256"].values())
        assert split["sha256"] == again["splits"][name]["sha256"]
        assert split["sha256"]["scales"] != other["splits"][name]["sha256"]["scales"]


def test_dynamic_mnist_reports_its_distribution_and_training_scales(data_dir):
    summary = make_json(data_dir, "--dataset", "dynamic-mnist", "--dist", "loguniform", "--range", "0.5", "4")
    assert summary["dist"]["name"] == "loguniform"
    assert summary["image_size"] == 168
    assert summary["splits"]["train"]["scale_min"] >= 1.0
    assert summary["splits"]["test"]["scale_min"] < 1.0


def test_mnist_scale_reports_the_thesis_normalisation(data_dir):
    summary = make_json(data_dir, "--dataset", "mnist-scale")
    assert summary["normalization"] == {"mean": 0.0607, "std": 0.2161}
    assert summary["image_size"] == 28 and summary["dist"] is None
    assert 0.3 <= summary["splits"]["test"]["scale_min"] <= summary["splits"]["test"]["scale_max"] <= 1.0


def test_data_directory_defaults_to_scaletol_data(data_dir, monkeypatch):
    monkeypatch.setenv("SCALETOL_DATA", str(data_dir))
    result = run("make", "--dataset", "mnist-scale", *SIZES)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("mnist-scale, seed 0: 28x28 images")
    assert [line.split()[:2] for line in lines[2:]] == [["train", "40"], ["val", "20"], ["test", "60"]]


def test_missing_directory_is_named(tmp_path, one_line_error):
    result = run("make", "--dataset", "mnist-scale", "--data", str(tmp_path / "nowhere"))
    one_line_error(result, "nowhere", "does not exist")


def test_no_directory_at_all_is_explained(monkeypatch, one_line_error):
    monkeypatch.delenv("SCALETOL_DATA", raising=False)
    one_line_error(run("make", "--dataset", "mnist-scale"), "SCALETOL_DATA")


def test_wrong_checksum_is_named(data_dir, monkeypatch, one_line_error):
    monkeypatch.setitem(mnist_module.SHA256, "t10k-images-idx3-ubyte.gz", "0" * 64)
    result = run("make", "--dataset", "mnist-scale", "--data", str(data_dir), *SIZES)
    one_line_error(result, "t10k-images-idx3-ubyte.gz has SHA-256", "expected " + "0" * 64)


def test_truncated_file_is_named(data_dir, monkeypatch, one_line_error):
    name = "train-labels-idx1-ubyte.gz"
    blob = (data_dir / name).read_bytes()[:-9]
    (data_dir / name).write_bytes(blob)
    monkeypatch.setitem(mnist_module.SHA256, name, hashlib.sha256(blob).hexdigest())
    result = run("make", "--dataset", "mnist-scale", "--data", str(data_dir), *SIZES)
    one_line_error(result, name, "not a complete gzip file")


def test_impossible_split_sizes_are_named(data_dir, one_line_error):
    result = run("make", "--dataset", "mnist-scale", "--data", str(data_dir), "--sizes", "100", "50", "50")
    one_line_error(result, "(100, 50, 50)", "only 160 available")


@pytest.mark.parametrize(
    ("scale_range", "fragment"), [(("0", "8"), "lo=0.0"), (("-1", "8"), "lo=-1.0"), (("8", "1"), "[8, 1]")]
)
def test_impossible_scale_ranges_are_named(data_dir, scale_range, fragment, one_line_error):
    result = run(
        "make", "--dataset", "dynamic-mnist", "--dist", "loguniform", "--range", *scale_range, "--data", str(data_dir)
    )
    one_line_error(result, fragment)


def test_dynamic_mnist_needs_a_distribution(data_dir, one_line_error):
    one_line_error(run("make", "--dataset", "dynamic-mnist", "--data", str(data_dir)), "--dist")


def test_mnist_scale_refuses_a_distribution(data_dir, one_line_error):
    result = run("make", "--dataset", "mnist-scale", "--range", "1", "8", "--data", str(data_dir))
    one_line_error(result, "mnist-scale has its own scale distribution")


@pytest.mark.parametrize("dataset", [["--dataset", "mnist-scale", "--augment"], DYNAMIC])
def test_preview_writes_a_grid_of_digits(data_dir, tmp_path, dataset):
    out = tmp_path / "preview.png"
    result = run(
        "preview",
        *dataset,
        "--data",
        str(data_dir),
        *SIZES,
        "--count",
        "2",
        "--scale",
        "0.5",
        "--scale",
        "2",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    image = imread(out)
    assert image.shape[1] > image.shape[0]  # 3 columns (as served, 0.5, 2) by 2 rows
    brightness = image[..., :3].mean(-1)
    assert (brightness < 0.05).mean() > 0.2  # black canvases...
    assert (brightness > 0.95).mean() > 0.2  # ...on a white page
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".preview")] == []


def test_preview_checks_the_output_path_first(data_dir, tmp_path, one_line_error):
    result = run(
        "preview", "--dataset", "mnist-scale", "--data", str(data_dir), "--out", str(tmp_path / "no" / "p.png")
    )
    one_line_error(result, "does not exist")
    result = run("preview", "--dataset", "mnist-scale", "--data", str(data_dir), "--out", str(tmp_path / "p.xyz"))
    one_line_error(result, "p.xyz", "image format")
    assert list(tmp_path.glob("p.*")) == []
