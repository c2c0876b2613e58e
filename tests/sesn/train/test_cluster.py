"""Sweeps on a local Dask cluster of 2 worker processes: the merged results
equal the sequential sweep's, also when a worker is killed during a cell;
cells that keep failing are named while the others finish; a cut-off sweep
continues on the cluster. One cluster serves the whole file."""

import os
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

pytest.importorskip("distributed", reason="the cluster extra (dask[distributed]) is not installed")

import torch  # noqa: E402
import xarray as xr  # noqa: E402
from distributed import Client  # noqa: E402

from scaletol.results import merge_results, read_results  # noqa: E402
from sesn.train.cluster import KILL_ONCE_ENV, CellsFailed, _wants_gpu, local_cluster, run_cluster_sweep  # noqa: E402
from sesn.train.loop import METRICS_FILE  # noqa: E402
from sesn.train.sweep import SweepCell, cell_dir, cell_results, isr_cells, run_sweep, train_cell  # noqa: E402
from tests.sesn.train.test_sweep import BASE, Interrupted, synthetic_mnist  # noqa: E402

# Two cells of two epochs, trained once sequentially for the whole file. The
# model learns its scales, whose last bits depend on the number of torch threads.
CELLS = isr_cells(BASE.replace(model="toy-isr", epochs=2), isrs=[2.0], seeds=[0], ranges=[(1.0, 2.83), (1.0, 8.0)])
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class Cluster(NamedTuple):
    address: str
    kill_trigger: Path  # create it to make the next cell starting its second epoch kill its worker
    thread_variables: dict  # this process's before the cluster started


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Here one thread for the sequential sweeps, and so for the cells on the
    cluster (the workers' own default is one per core): the 2 workers then
    share the 2 cores without oversubscription."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    trigger = tmp_path_factory.mktemp("kill") / "trigger"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KILL_ONCE_ENV, str(trigger))  # the worker processes inherit it
        before = {name: os.environ.get(name) for name in THREAD_VARIABLES}
        with local_cluster(2, gpus=["0", "1"]) as running:  # without CUDA the workers train on the CPU
            yield Cluster(running.scheduler_address, trigger, before)


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    """The folder of the sequential sweep of CELLS."""
    out = tmp_path_factory.mktemp("sequential")
    run_sweep(CELLS, out, mnist=synthetic_mnist(), device="cpu", progress=False)
    return out


def sweep_on(cluster, cells, out, **options):
    return run_cluster_sweep(cells, out, scheduler=cluster.address, mnist=synthetic_mnist(), device="cpu", **options)


def test_the_merge_equals_the_sequential_sweeps_despite_a_killed_worker(cluster, sequential, tmp_path):
    cluster.kill_trigger.touch()
    merged = sweep_on(cluster, CELLS, tmp_path, retries=1, progress=False)

    killed = Path(f"{cluster.kill_trigger}.killed")
    assert killed.is_file() and not cluster.kill_trigger.exists()
    expected = read_results(sequential / "results.nc")
    xr.testing.assert_identical(merged, expected)
    xr.testing.assert_identical(read_results(tmp_path / "results.nc"), expected)
    for cell in CELLS:
        files = [sorted(p.name for p in cell_dir(cell, out).iterdir()) for out in (sequential, tmp_path)]
        assert files[0] == files[1]
    # The killed cell resumed from its checkpoint: its first epoch's metrics row,
    # measured time included, is still the one written before the kill.
    rows = {c.name: (cell_dir(c, tmp_path) / METRICS_FILE).read_text().splitlines() for c in CELLS}
    before_kill = killed.read_text().splitlines()
    assert len(before_kill) == 2  # header and epoch 1
    assert len([name for name, lines in rows.items() if lines[:2] == before_kill]) == 1
    assert all(len(lines) == 3 for lines in rows.values())


def test_a_cell_that_keeps_failing_is_named_and_the_others_finish(cluster, sequential, tmp_path, capsys):
    bad = SweepCell("too-big-batches", CELLS[1].config.replace(batch_size=64), 1, CELLS[1].labels)  # 8 samples
    with pytest.raises(CellsFailed) as caught:
        sweep_on(cluster, [CELLS[0], bad], tmp_path, retries=1, progress=True)

    assert list(caught.value.failed) == ["too-big-batches"]
    assert "batch_size=64 must be ≤ the 8 training samples" in caught.value.failed["too-big-batches"]
    log = capsys.readouterr().err
    assert "too-big-batches: try 1 of 2 failed, InputError: batch_size=64" in log
    assert "too-big-batches: failed all 2 tries" in log
    assert f"{CELLS[0].name}: test error" in log
    expected = merge_results([cell_results(CELLS[0], sequential)])
    xr.testing.assert_identical(caught.value.results, expected)
    xr.testing.assert_identical(read_results(tmp_path / "results.nc"), expected)


def test_each_local_worker_sees_only_its_gpu_and_declares_it(cluster):
    with Client(cluster.address) as client:
        seen = client.run(lambda: os.environ.get("CUDA_VISIBLE_DEVICES"))  # read in the worker
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
    assert sorted(seen.values()) == ["0", "1"]
    assert [w["resources"] for w in workers] == [{"GPU": 1}, {"GPU": 1}]
    assert [w["nthreads"] for w in workers] == [1, 1]
    # and the cluster left this process's environment as it was (after a worker restart too)
    assert {name: os.environ.get(name) for name in THREAD_VARIABLES} == cluster.thread_variables


@pytest.mark.parametrize(
    ("device", "resources", "asks"),
    [("auto", {"GPU": 1}, True), ("auto", {}, False), ("cpu", {"GPU": 1}, False), ("cuda", {}, True)],
)
def test_cells_ask_for_a_gpu_on_cuda_or_when_the_workers_have_one(device, resources, asks):
    assert _wants_gpu([{"resources": {}}, {"resources": resources}], device) is asks


@pytest.mark.skipif(torch.cuda.is_available(), reason="device auto would train on the GPU, unlike the CPU reference")
def test_a_cut_off_sweep_continues_on_the_cluster(cluster, sequential, tmp_path):
    # What an interrupted client leaves: the first cell finished, the second
    # cut off in its second epoch (after its first checkpoint).
    shutil.copytree(cell_dir(CELLS[0], sequential), cell_dir(CELLS[0], tmp_path))

    def stop_in_the_second_epoch(epoch, batch):
        if epoch == 1:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_cell(
            CELLS[1], tmp_path, mnist=synthetic_mnist(), device="cpu", progress=False, on_batch=stop_in_the_second_epoch
        )
    trained = []
    merged = sweep_on(
        cluster, CELLS, tmp_path, progress=False, on_cell=lambda cell, fresh: trained.append((cell.name, fresh))
    )
    assert trained == [(CELLS[0].name, False), (CELLS[1].name, True)]
    expected = read_results(sequential / "results.nc")
    xr.testing.assert_identical(merged, expected)
    xr.testing.assert_identical(read_results(tmp_path / "results.nc"), expected)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({}, "not both or neither"),
        ({"workers": 2, "scheduler": "tcp://x:1"}, "not both"),
        ({"workers": 0}, "workers=0"),
    ],
)
def test_bad_cluster_settings_are_named(options, named, tmp_path):
    with pytest.raises(ValueError, match=named):
        run_cluster_sweep(isr_cells(BASE, [2.0], [0], [(1.0, 8.0)]), tmp_path, **options)


def test_a_cpu_cell_trains_with_the_clients_torch_threads(monkeypatch, tmp_path):
    """(The tiny cells above are too small for torch to split an operation
    over threads, so this is checked here, on the task itself.)"""
    from sesn.train import cluster as cluster_module

    seen = []
    monkeypatch.setattr(cluster_module, "train_cell", lambda *args, **options: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    cluster_module._train_cell_task(CELLS[0], str(tmp_path), {"device": "cpu"}, threads=before + 2)
    assert seen == [before + 2] and torch.get_num_threads() == before
