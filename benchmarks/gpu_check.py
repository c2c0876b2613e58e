"""One GPU check within a time budget: the CUDA tests, the layer and
training-step benchmarks on CUDA (fp32 and bf16), and as many full-protocol
toy runs as fit.

    PYTHONPATH=. python benchmarks/gpu_check.py --data DIR --out DIR [--budget-s 480] [--smoke]

In order: (1) `pytest -m gpu` in a subprocess (pass/fail/skip counts; its
share of the budget at most a quarter), (2) `benchmarks/layers.py`'s
workloads (direct, separable, plain conv2d) and `benchmarks/train.py`'s
training step of toy-fixed and toy-ratio at batch 128, each in fp32 and under
bf16 autocast, (3) the full protocol (thesis App. B) for toy-fixed, then
toy-ratio: Dynamic Scale MNIST log-uniform [1, 8], 10k/5k/50k digits, 60
epochs, batch 128, per-scale test errors on 45 scales. A run starts only if
the previous run's time fits in what is left of the budget; a running run
stops at the first epoch boundary from which it would not end in time (its
remaining epochs at the mean epoch time so far, plus the per-scale evaluation
estimated at 3× the training samples/s). Everything goes into
`--out`/gpu_check.json and gpu_check.md (rewritten atomically after each
part, so a killed check leaves what it finished) and the runs' files into
`--out`/runs/MODEL.

`--smoke` runs the same code on the CPU with tiny sizes (a minute): the
`gpu`-marked tests of one file (skipped without CUDA), small layers, batch 2,
and runs of 16/8/8 digits, 1 epoch, 2 evaluation scales.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import layers  # the sibling benchmarks, importable as this script's neighbours
import torch
import train as train_bench

from scaletol.files import atomic_write_text
from sesn.data.mnist import load_mnist
from sesn.train.config import TrainConfig
from sesn.train.loop import train

ROOT = Path(__file__).resolve().parents[1]
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}
TOY_MODELS = ("toy-fixed", "toy-ratio")
FORWARD_SPEEDUP = 3.0  # assumed inference samples/s over training samples/s, for the evaluation estimate


class Scenario:
    """The sizes of one check: the full one on CUDA, or the smoke one on the CPU."""

    def __init__(self, smoke: bool):
        self.smoke = smoke
        self.device = torch.device("cpu" if smoke else "cuda")
        self.test_paths = ["tests/sesn/nn/test_layers.py"] if smoke else []
        self.layer_changes = dict(batch=2, size=32, in_channels=1, out_channels=4, sigma_basis=1.0) if smoke else {}
        self.layer_repeat = 1 if smoke else 5
        self.step_batch, self.step_count = (2, 1) if smoke else (128, 10)
        protocol = dict(sizes=(10_000, 5_000, 50_000), epochs=60, batch_size=128)
        tiny = dict(sizes=(16, 8, 8), epochs=1, batch_size=8, eval_range=(1.0, 2.0), eval_per_octave=1.0)
        self.run_settings = dict(dist="loguniform", range=(1.0, 8.0), **(tiny if smoke else protocol))


class OverBudget(Exception):
    """A run that would not end before the deadline."""


class Clock:
    """The budget: seconds left until the deadline."""

    def __init__(self, budget_s: float):
        self.budget_s = budget_s
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.budget_s - self.elapsed()


def run_tests(scenario: Scenario, data: Path, timeout_s: float) -> dict:
    """`pytest -m gpu` in a subprocess: counts of passed, failed, errors,
    skipped, and its wall time [s]."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SCALETOL_DATA": str(data.resolve())}
        started = time.monotonic()
        try:
            done = subprocess.run(
                command + scenario.test_paths, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s
            )
        except subprocess.TimeoutExpired:
            return {"status": f"stopped after {timeout_s:.0f} s", "seconds": time.monotonic() - started}
        seconds = time.monotonic() - started
        if not report.is_file():
            return {"status": f"pytest exited {done.returncode}", "seconds": seconds, "output": done.stdout[-2000:]}
        suite = ET.parse(report).getroot()
        suite = suite if suite.tag == "testsuite" else suite[0]
        counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    failed = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return {
        "status": "ok" if done.returncode in (0, 5) else f"pytest exited {done.returncode}",  # 5: none collected
        "passed": counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"],
        "failed": counts["failures"],
        "errors": counts["errors"],
        "skipped": counts["skipped"],
        "seconds": seconds,
        "failures": failed,
    }


def unsupported(error: Exception) -> str:
    return f"not supported yet: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def layer_rows(scenario: Scenario) -> list[dict]:
    """`benchmarks/layers.py`'s rows of each workload in each precision."""
    rows = []
    for name in layers.WORKLOADS:
        for precision, dtype in PRECISIONS.items():
            try:
                found = layers.run_workload(
                    name, scenario.layer_repeat, scenario.device.type, autocast=dtype, **scenario.layer_changes
                )
            except (RuntimeError, NotImplementedError, TypeError) as error:
                rows.append({"workload": name, "precision": precision, "status": unsupported(error)})
                continue
            rows.extend({**row, "precision": precision, "status": "ok"} for row in found)
    return rows


def step_rows(scenario: Scenario) -> list[dict]:
    """`benchmarks/train.py`'s training step (random batches) of the toy
    networks in each precision."""
    rows = []
    for name in TOY_MODELS:
        for precision, dtype in PRECISIONS.items():
            try:
                row = train_bench.measure(
                    name, scenario.step_batch, scenario.step_count, scenario.device, with_data=False, autocast=dtype
                )
            except (RuntimeError, NotImplementedError, TypeError) as error:
                row = {"model": name, "batch": scenario.step_batch, "status": unsupported(error)}
            else:
                row["status"] = "ok"
            rows.append({**row, "precision": precision})
    return rows


class Watch:
    """The `on_batch` hook of a run: at each epoch's first step, raises
    OverBudget if the run would not end before the deadline."""

    def __init__(self, config: TrainConfig, clock: Clock, n_scales: int):
        self.config, self.clock = config, clock
        self.start = time.monotonic()
        train_n, val_n, test_n = config.sizes
        test_n = min(test_n, config.eval_limit or test_n)
        self.forward_share = val_n / FORWARD_SPEEDUP  # an epoch's validation, in training samples
        self.train_n = train_n
        self.eval_n = test_n * n_scales
        self.estimate_s: float | None = None

    def __call__(self, epoch: int, index: int) -> None:
        if epoch == 0 or index != 0:
            return
        per_epoch = (time.monotonic() - self.start) / epoch
        train_rate = (self.train_n + self.forward_share) / per_epoch  # training samples/s
        evaluation = self.eval_n / (FORWARD_SPEEDUP * train_rate)
        remaining = per_epoch * (self.config.epochs - epoch) + evaluation
        self.estimate_s = time.monotonic() - self.start + remaining
        if remaining > self.clock.left():
            raise OverBudget(
                f"stopped after {epoch} epochs: {remaining:.0f} s more needed, {self.clock.left():.0f} s left"
            )


def toy_runs(scenario: Scenario, data: Path, out: Path, clock: Clock) -> list[dict]:
    """The toy runs that fit in the budget, one row each."""
    from sesn.data.registry import evaluation_grid

    mnist = load_mnist(data)
    rows: list[dict] = []
    previous_s: float | None = None
    for model in TOY_MODELS:
        config = TrainConfig(model=model, **scenario.run_settings)
        n_scales = len(evaluation_grid(*config.eval_range, per_octave=config.eval_per_octave))
        row: dict = {"model": model, "sizes": list(config.sizes), "epochs": config.epochs, "scales": n_scales}
        if previous_s is not None and previous_s > clock.left():
            rows.append({**row, "status": f"not started: about {previous_s:.0f} s needed, {clock.left():.0f} s left"})
            continue
        watch = Watch(config, clock, n_scales)
        started = time.monotonic()
        try:
            result = train(
                config, out / "runs" / model, mnist=mnist, device=scenario.device, progress=False, on_batch=watch
            )
        except OverBudget as stop:
            rows.append(
                {**row, "status": str(stop), "seconds": time.monotonic() - started, "estimate_s": watch.estimate_s}
            )
            previous_s = watch.estimate_s
            continue
        previous_s = time.monotonic() - started
        rows.append(
            {
                **row,
                "status": "ok",
                "seconds": previous_s,
                "test_error": result.test_error,
                "val_error": result.val_error,
                "best_epoch": result.best_epoch,
                "sigma_basis": result.sigma_basis,
                "isr": result.isr,
                "samples_per_s": result.samples_per_s,
            }
        )
    return rows


def machine(scenario: Scenario) -> dict:
    cuda = scenario.device.type == "cuda"
    return {
        "device": torch.cuda.get_device_name() if cuda else f"{platform.processor() or platform.machine()} (CPU)",
        "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "python": platform.python_version(),
        "cpu_threads": torch.get_num_threads(),
        "smoke": scenario.smoke,
    }


def _cell(value, digits: int = 1) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown(report: dict) -> str:
    """The report as Markdown tables."""
    m = report["machine"]
    lines = [
        f"# GPU check{' (smoke, CPU)' if m['smoke'] else ''}",
        "",
        f"{m['device']}, torch {m['torch']}, CUDA {m['cuda']}, Python {m['python']}; "
        f"{report['seconds']:.0f} s of a {report['budget_s']:.0f} s budget.",
    ]
    tests = report.get("tests")
    if tests:
        lines += [
            "",
            "## Tests marked gpu",
            "",
            "| status | passed | failed | errors | skipped | s |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines.append(
            f"| {tests['status']} | {_cell(tests.get('passed'))} | {_cell(tests.get('failed'))} | "
            f"{_cell(tests.get('errors'))} | {_cell(tests.get('skipped'))} | {tests['seconds']:.0f} |"
        )
        lines += [f"- {line}" for line in tests.get("failures", [])]
    if report.get("layers"):
        lines += [
            "",
            "## One layer's training step",
            "",
            "| workload | variant | precision | ms / step | ratio to conv2d |",
        ]
        lines.append("|---|---|---|---:|---:|")
        for r in report["layers"]:
            if r["status"] != "ok":
                lines.append(f"| {r['workload']} | | {r['precision']} | {r['status']} | |")
                continue
            lines.append(
                f"| {r['workload']} | {r['variant']} | {r['precision']} | "
                f"{r['ms_per_step']:.1f} | {r['ratio_to_conv2d']:.3f} |"
            )
    if report.get("steps"):
        lines += ["", "## Training step of the toy networks (random batches)", ""]
        lines += ["| model | precision | batch | samples/s | ms / step |", "|---|---|---:|---:|---:|"]
        for r in report["steps"]:
            speed = f"{r['samples_per_s']:.0f} | {r['ms_per_step']:.1f}" if r["status"] == "ok" else f"{r['status']} |"
            lines.append(f"| {r['model']} | {r['precision']} | {r['batch']} | {speed} |")
    if report.get("runs"):
        lines += ["", "## Full-protocol toy runs (log-uniform [1, 8])", ""]
        lines += [
            "| model | digits | epochs | scales | status | s | test error % | σ_basis | ISR | samples/s |",
            "|---|---|---:|---:|---|---:|---:|---:|---:|---:|",
        ]
        for r in report["runs"]:
            error = 100 * r["test_error"] if "test_error" in r else None
            lines.append(
                f"| {r['model']} | {'/'.join(map(str, r['sizes']))} | {r['epochs']} | {r['scales']} | {r['status']} | "
                f"{_cell(r.get('seconds'), 0)} | {_cell(error, 2)} | {_cell(r.get('sigma_basis'), 3)} | "
                f"{_cell(r.get('isr'), 3)} | {_cell(r.get('samples_per_s'), 0)} |"
            )
    return "\n".join(lines) + "\n"


def write(report: dict, out: Path, clock: Clock) -> None:
    report["seconds"] = clock.elapsed()
    atomic_write_text(out / "gpu_check.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(out / "gpu_check.md", markdown(report))


def check(data: Path, out: Path, budget_s: float, smoke: bool) -> dict:
    """Run the check; returns the report it wrote into `out`."""
    clock = Clock(budget_s)
    scenario = Scenario(smoke)
    report: dict = {"machine": machine(scenario), "budget_s": budget_s}
    report["tests"] = run_tests(scenario, data, timeout_s=max(1.0, budget_s / 4))
    write(report, out, clock)
    report["layers"] = layer_rows(scenario)
    write(report, out, clock)
    report["steps"] = step_rows(scenario)
    write(report, out, clock)
    report["runs"] = toy_runs(scenario, data, out, clock)
    write(report, out, clock)
    return report


@click.command(help=__doc__)
@click.option(
    "--data", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True, help="MNIST folder."
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder for the report.")
@click.option("--budget-s", type=click.FloatRange(min=1), default=480.0, show_default=True, help="Time budget [s].")
@click.option("--smoke", is_flag=True, help="The same code on the CPU with tiny sizes (about a minute).")
def main(data: Path, out: Path, budget_s: float, smoke: bool) -> None:
    if not smoke and not torch.cuda.is_available():
        raise click.UsageError("no CUDA device is available (use --smoke on a CPU)")
    report = check(data, out, budget_s, smoke)
    click.echo(markdown(report))


if __name__ == "__main__":
    main()
