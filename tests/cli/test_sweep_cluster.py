"""`tolcli sweep --scheduler/--workers`: the same results.nc as the
sequential sweep, failed cells named with exit status 1, clean usage errors."""

import json

import pytest

pytest.importorskip("distributed", reason="the cluster extra (dask[distributed]) is not installed")

import xarray as xr  # noqa: E402

from scaletol.results import read_results  # noqa: E402
from tests.cli.test_sweep import TINY  # noqa: E402

ISR_SWEEP = ["sweep", "--model", "toy-fixed", "--isr", "2", "--isr", "6", "--range", "1", "8", *TINY]


def test_a_sweep_on_a_scheduler_writes_the_sequential_results(data_dir, tmp_path, tolcli):
    from distributed import LocalCluster

    sequential = tolcli(*ISR_SWEEP, "--out", tmp_path / "sequential")
    assert sequential.exit_code == 0, sequential.output
    # One worker thread in this process, so that it reads the fake MNIST as this process does.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        args = [*ISR_SWEEP, "--out", tmp_path / "cluster", "--scheduler", cluster.scheduler_address, "--json"]
        result = tolcli(*args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["cells"], report["trained"], report["failed"]) == (2, 2, {})
    assert [row["isr"] for row in report["summary"]] == [2.0, 6.0]
    merged = read_results(tmp_path / "cluster" / "results.nc")
    xr.testing.assert_identical(merged, read_results(tmp_path / "sequential" / "results.nc"))


def test_cells_that_fail_every_try_are_named_and_the_status_is_1(data_dir, tmp_path, tolcli):
    # The local workers are new processes: they check the genuine MNIST
    # checksums, which the fake files fail, so every cell fails.
    result = tolcli(*ISR_SWEEP, "--out", tmp_path, "--workers", "1", "--retries", "0", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    names = ["range1-8_isr2_seed0", "range1-8_isr6_seed0"]
    assert sorted(report["failed"]) == names and report["summary"] == [] and report["trained"] == 0
    assert all("SHA-256" in error for error in report["failed"].values())
    failures = [line for line in result.stderr.splitlines() if line.startswith("tolcli: cell ")]
    assert sorted(line.split()[2] for line in failures) == names


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--retries", "1"], "--retries applies to --scheduler and --workers only"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_bad_cluster_options_are_named(args, named, tmp_path, tolcli):
    result = tolcli(*ISR_SWEEP, "--out", tmp_path, *args)
    assert result.exit_code == 2 and named in result.stderr, result.output
