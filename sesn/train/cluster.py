"""Sweeps on Dask's distributed scheduler: every unfinished cell one task.

`run_cluster_sweep(cells, out, workers=N)` starts a cluster of N worker
processes on this machine (`local_cluster`); `scheduler=ADDRESS` uses a running
scheduler and its workers. Each task trains one cell exactly as the sequential
sweep does (`sesn.train.sweep.train_cell`, in OUT/cells/<name>/, with the same
seed and, on the CPU, the client's number of torch threads), so OUT must be a
folder that the client and every worker see at the same path. The client
alone reads the finished cells and rewrites the merged OUT/results.nc
(atomically, the cells in the sweep's order) after each one: the final file
equals the sequential sweep's.

GPUs: on CUDA each cell asks for the worker resource GPU=1, so a worker
declaring one GPU runs one cell at a time on it. With device "auto" cells ask
for it when the first worker to connect declares it. A local cluster on a
CUDA machine has one worker per visible GPU, each seeing only its GPU.

Faults: a cell is tried at most 1 + `retries` times, whatever stopped it (an
error, or its worker dying); each try resumes from the cell's last checkpoint,
so a killed worker costs that cell's unfinished epoch. Cells that fail every
try are reported by `CellsFailed` once the others have finished. A sweep whose
client was interrupted continues when run again.

Test hook (for the tests only): when the environment variable
SCALETOL_TEST_KILL_ONCE names a file that exists on a worker, the first cell
there to start its second epoch removes the file, copies the cell's
metrics.csv (its first epoch) to <file>.killed, and kills its worker process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import xarray as xr
from tqdm import tqdm

from scaletol.checks import InputError, check_int
from scaletol.results import merge_results
from sesn.train.loop import METRICS_FILE, BatchHook, resolve_device
from sesn.train.sweep import SweepCell, cell_dir, cell_results, is_finished, train_cell, write_merged

if TYPE_CHECKING:
    from distributed import Client, Future, SpecCluster

KILL_ONCE_ENV = "SCALETOL_TEST_KILL_ONCE"
GPU = "GPU"  # the worker resource a cell on CUDA asks for, one unit per cell
REFRESH_S = 1.0  # s between looks at the workers (for free slots)


class CellsFailed(Exception):
    """Cells that failed every try: `failed` maps each cell's name to its
    last error; `results` is the merge of the cells that finished (None if none)."""

    def __init__(self, failed: dict[str, str], results: xr.Dataset | None):
        self.failed, self.results = failed, results
        lines = [f"{name}: {error}" for name, error in failed.items()]
        super().__init__(f"{len(failed)} cell(s) failed every try:\n" + "\n".join(lines))


def local_cluster(workers: int, gpus: Sequence[str] = ()) -> SpecCluster:
    """A Dask cluster on this machine: `workers` worker processes of one
    thread each, each with memory limit 1/workers of the machine's. With
    `gpus` (CUDA device ids, at least one per worker) worker i sees only
    gpus[i] (CUDA_VISIBLE_DEVICES) and declares the resource GPU=1. Its
    scheduler fails a task at once when its worker dies (allowed_failures 0),
    so the sweep's own retries count every try."""
    import dask
    from distributed import Nanny, Scheduler, SpecCluster

    workers = check_int("workers", workers, low=1)
    if gpus and workers > len(gpus):
        raise InputError(f"workers={workers} must be at most the {len(gpus)} GPUs visible here (one worker per GPU)")
    options = {"nthreads": 1, "host": "127.0.0.1", "memory_limit": 1 / workers, "silence_logs": logging.ERROR}

    def spec(i: int) -> dict:
        if not gpus:
            return {"cls": Nanny, "options": options}
        gpu = {"resources": {GPU: 1}, "env": {"CUDA_VISIBLE_DEVICES": gpus[i]}}
        return {"cls": Nanny, "options": {**options, **gpu}}

    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard": False, "allowed_failures": 0}}
    # Dask's nannies would set OMP_NUM_THREADS=1 etc. in this process's own
    # environment (passed on to its later subprocesses); a cell sets its torch threads itself.
    with dask.config.set({"distributed.nanny.pre-spawn-environ": {}}):
        return SpecCluster(
            workers={i: spec(i) for i in range(workers)}, scheduler=scheduler, silence_logs=logging.CRITICAL
        )


def visible_gpus() -> list[str]:
    """The CUDA device ids this process may use ($CUDA_VISIBLE_DEVICES, else
    all); empty without CUDA."""
    if not torch.cuda.is_available():
        return []
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed:
        return [d.strip() for d in listed.split(",") if d.strip()][: torch.cuda.device_count()]
    return [str(i) for i in range(torch.cuda.device_count())]


def run_cluster_sweep(
    cells: Sequence[SweepCell],
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    retries: int = 2,
    device: str = "auto",
    progress: bool = True,
    on_cell: Callable[[SweepCell, bool], None] | None = None,
    **train_options: Any,
) -> xr.Dataset:
    """Train every unfinished cell as one task on the Dask `scheduler` at that
    address, or on a `local_cluster` of `workers` processes (one per GPU on a
    CUDA machine unless device is "cpu"), and merge all into OUT/results.nc.

    train_options (mnist, data_root) go to `sesn.train.loop.train` on the
    workers, with `device`. `progress`: a bar over cells on stderr and a line
    per finished cell. on_cell(cell, trained) is called as each cell is
    merged. Returns the merge; raises CellsFailed after the other cells when
    some failed 1 + retries times."""
    if (scheduler is None) == (workers is None):
        raise InputError("give a scheduler address or a number of local workers, not both or neither")
    retries = check_int("retries", retries, low=0)
    out_dir = Path(out_dir)
    parts: dict[int, xr.Dataset] = {}
    todo = []
    for i, cell in enumerate(cells):
        if is_finished(cell, out_dir):
            parts[i] = cell_results(cell, out_dir)
            if on_cell is not None:
                on_cell(cell, False)
        else:
            todo.append(i)
    if parts:
        write_merged([parts[i] for i in sorted(parts)], out_dir)
    failed: dict[str, str] = {}
    if todo:
        with contextlib.ExitStack() as stack:
            client = _connect(stack, scheduler, workers, device)
            sweep = _ClusterRun(client, cells, out_dir, retries, device, train_options, progress, on_cell)
            failed = sweep.run(todo, parts)
    ordered = [parts[i] for i in sorted(parts)]
    if failed:
        raise CellsFailed(failed, merge_results(ordered) if ordered else None)
    return merge_results(ordered)


def _connect(stack: contextlib.ExitStack, scheduler: str | None, workers: int | None, device: str) -> Client:
    """A client of the scheduler at `scheduler`, or of a new local cluster of
    `workers` (closed with `stack`)."""
    from distributed import Client

    if workers is not None:
        gpus = visible_gpus() if resolve_device(device).type == "cuda" else []
        cluster = stack.enter_context(local_cluster(workers, gpus))
        return stack.enter_context(Client(cluster))
    try:
        return stack.enter_context(Client(scheduler))
    except OSError as exc:
        raise InputError(f"scheduler={scheduler} must be the address of a running Dask scheduler ({exc})") from None


class _ClusterRun:
    """The client's side of one sweep: submits cells, retries them, merges the
    finished ones and reports progress."""

    def __init__(
        self,
        client: Client,
        cells: Sequence[SweepCell],
        out_dir: Path,
        retries: int,
        device: str,
        train_options: dict,
        progress: bool,
        on_cell: Callable[[SweepCell, bool], None] | None,
    ):
        self.client, self.cells, self.out_dir, self.retries = client, cells, out_dir, retries
        self.options = {**train_options, "device": device}
        self.device = device
        self.resources: dict[str, int] | None = None  # decided when the first worker is there
        self.progress, self.on_cell = progress, on_cell

    def submit(self, i: int) -> Future:
        return self.client.submit(
            _train_cell_task,
            self.cells[i],
            str(self.out_dir),
            self.options,
            torch.get_num_threads(),
            resources=self.resources or None,
            pure=False,
        )

    def run(self, todo: list[int], parts: dict[int, xr.Dataset]) -> dict[str, str]:
        """Train the cells `todo` (indices into cells), adding each finished
        one to `parts` and rewriting the merge. Returns the failed cells' errors.

        Only as many cells are submitted as the workers have free slots, so
        no cell waits on a worker (a dying worker fails only the cell it runs)."""
        from distributed import TimeoutError, wait

        queue = deque(todo)
        futures: dict[Future, int] = {}
        tries = dict.fromkeys(todo, 0)
        failed: dict[str, str] = {}
        bar = tqdm(
            total=len(self.cells),
            initial=len(parts),
            desc="cells",
            unit="cell",
            file=sys.stderr,
            disable=not self.progress,
        )
        with bar:
            while queue or futures:
                free = self.slots() - len(futures)
                for _ in range(min(free, len(queue))):
                    i = queue.popleft()
                    tries[i] += 1
                    futures[self.submit(i)] = i
                bar.set_postfix(done=len(parts), running=len(futures), failed=len(failed))
                if not futures:  # no worker yet
                    time.sleep(REFRESH_S)
                    continue
                try:
                    done = wait(list(futures), timeout=REFRESH_S, return_when="FIRST_COMPLETED").done
                except TimeoutError:
                    continue
                for future in done:
                    i = futures.pop(future)
                    name = self.cells[i].name
                    if future.status == "finished":
                        self.merge(i, future.result(), parts, bar)
                    elif tries[i] <= self.retries:
                        queue.appendleft(i)
                        self.say(bar, f"{name}: try {tries[i]} of {1 + self.retries} failed, {_describe(future)}")
                    else:
                        failed[name] = _describe(future)
                        self.say(bar, f"{name}: failed all {tries[i]} tries, {failed[name]}")
                        bar.update()
            bar.set_postfix(done=len(parts), running=0, failed=len(failed))
        return failed

    def merge(self, i: int, seconds: float, parts: dict[int, xr.Dataset], bar: tqdm) -> None:
        """Add the finished cell i to `parts`, rewrite the merge and report it."""
        cell = self.cells[i]
        parts[i] = cell_results(cell, self.out_dir)
        write_merged([parts[j] for j in sorted(parts)], self.out_dir)
        error = float(parts[i]["test_error"].item())
        self.say(bar, f"{cell.name}: test error {100 * error:.2f} %, {seconds:.1f} s")
        bar.update()
        if self.on_cell is not None:
            self.on_cell(cell, True)

    def slots(self) -> int:
        """How many cells the connected workers can run at once: their GPUs,
        or their threads when cells need no GPU."""
        workers = list(self.client.scheduler_info(n_workers=-1)["workers"].values())
        if workers and self.resources is None:
            self.resources = {GPU: 1} if _wants_gpu(workers, self.device) else {}
        if self.resources:
            return int(sum((w.get("resources") or {}).get(GPU, 0) for w in workers))
        return sum(int(w["nthreads"]) for w in workers)

    def say(self, bar: tqdm, line: str) -> None:
        if self.progress:
            bar.write(line, file=sys.stderr)


def _wants_gpu(workers: list[dict], device: str) -> bool:
    """Whether cells ask for a GPU: with device cuda, or with auto when one of
    the `workers` (the scheduler's records of them) declares the resource."""
    if device != "auto":
        return torch.device(device).type == "cuda"
    return any(GPU in (w.get("resources") or {}) for w in workers)


def _describe(future: Future) -> str:
    """A failed task's error in one line: its type and message."""
    if future.status == "cancelled":
        return "cancelled by the scheduler"
    from distributed import KilledWorker

    exc = future.exception()
    if isinstance(exc, KilledWorker):
        return "KilledWorker: its worker process died"
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _train_cell_task(cell: SweepCell, out_dir: str, options: dict, threads: int) -> float:
    """The task on a worker: train `cell` into its folder, on the CPU with
    `threads` torch threads (the client's, as a sequential sweep would:
    results depend on it); returns the seconds it took."""
    started = time.perf_counter()
    hook = _kill_once(cell, Path(out_dir))
    previous = torch.get_num_threads()
    if resolve_device(options["device"]).type == "cpu":
        torch.set_num_threads(threads)
    try:
        train_cell(cell, out_dir, progress=False, **options, **({"on_batch": hook} if hook else {}))
    finally:
        torch.set_num_threads(previous)
    return time.perf_counter() - started


def _kill_once(cell: SweepCell, out_dir: Path) -> BatchHook | None:
    """The test hook of the module docstring (None unless its variable is set)."""
    trigger = os.environ.get(KILL_ONCE_ENV)
    if not trigger:
        return None

    def hook(epoch: int, batch: int) -> None:
        if epoch < 1 or batch != 0:
            return
        try:
            os.remove(trigger)  # only one cell succeeds
        except FileNotFoundError:
            return
        shutil.copyfile(cell_dir(cell, out_dir) / METRICS_FILE, trigger + ".killed")
        os.kill(os.getpid(), signal.SIGKILL)

    return hook
