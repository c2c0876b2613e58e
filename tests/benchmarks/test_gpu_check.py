"""benchmarks/gpu_check.py: the smoke check on the CPU writes its JSON and
Markdown reports, and the budget stops runs that would not fit."""

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # the benchmarks import each other
import gpu_check  # noqa: E402

from sesn.train.config import TrainConfig


@pytest.fixture
def smoke_report(fake_mnist, tmp_path):
    data = fake_mnist(32, 16)
    out = tmp_path / "out"
    report = gpu_check.check(data, out, budget_s=480, smoke=True)
    return report, out


def test_the_smoke_check_writes_every_part_into_the_json_and_markdown(smoke_report):
    report, out = smoke_report
    written = json.loads((out / "gpu_check.json").read_text())
    assert written["runs"] == json.loads(json.dumps(report["runs"]))
    assert written["machine"]["smoke"] is True and written["seconds"] > 0

    tests = written["tests"]
    assert tests["status"] == "ok", tests
    assert tests["failed"] == tests["errors"] == 0
    assert (tests["passed"] if torch.cuda.is_available() else tests["skipped"]) >= 1  # they skip without CUDA

    variants = {(r["workload"], r["precision"], r["variant"].split(",")[0].split(" ")[0]) for r in written["layers"]}
    for workload in ("toy", "mnist-scale"):
        for precision in ("fp32", "bf16"):
            assert {(workload, precision, v) for v in ("conv2d", "direct", "separable")} <= variants
    assert all(r["status"] == "ok" and r["ms_per_step"] > 0 for r in written["layers"])

    steps = {(r["model"], r["precision"]) for r in written["steps"] if r["status"] == "ok" and r["samples_per_s"] > 0}
    assert steps == {(m, p) for m in ("toy-fixed", "toy-ratio") for p in ("fp32", "bf16")}

    assert [r["model"] for r in written["runs"]] == ["toy-fixed", "toy-ratio"]
    for run in written["runs"]:
        assert run["status"] == "ok" and run["seconds"] > 0 and 0 <= run["test_error"] <= 1
        assert run["scales"] == 2 and run["epochs"] == 1
        assert (out / "runs" / run["model"] / "results.nc").is_file()

    text = (out / "gpu_check.md").read_text()
    assert f"| ok | {tests['passed']} | 0 | 0 | {tests['skipped']} |" in text
    for model in ("toy-fixed", "toy-ratio"):
        assert f"| {model} | 16/8/8 | 1 | 2 | ok |" in text
        assert f"| {model} | bf16 | 2 |" in text


class FixedClock(gpu_check.Clock):
    def __init__(self, left_s):
        super().__init__(budget_s=left_s)
        self.left_s = left_s

    def left(self):
        return self.left_s


def test_a_run_stops_at_the_first_epoch_boundary_it_would_not_end_after():
    config = TrainConfig(model="toy-fixed", sizes=(16, 8, 8), epochs=60, batch_size=8)
    gpu_check.Watch(config, FixedClock(1e9), n_scales=45)(1, 0)  # plenty of time: goes on
    watch = gpu_check.Watch(config, FixedClock(0.0), n_scales=45)
    watch(0, 1)  # within the first epoch: no estimate yet
    with pytest.raises(gpu_check.OverBudget, match="stopped after 1 epochs"):
        watch(1, 0)
    assert watch.estimate_s is not None and watch.estimate_s > 0


def test_no_run_starts_once_the_budget_is_spent(fake_mnist, tmp_path):
    scenario = gpu_check.Scenario(smoke=True)
    rows = gpu_check.toy_runs(scenario, fake_mnist(32, 16), tmp_path, gpu_check.Clock(budget_s=1e-3))
    assert rows[0]["status"] == "ok"  # the first run always starts: nothing to estimate it from
    assert rows[1]["status"].startswith("not started")
    assert not (tmp_path / "runs" / "toy-ratio").exists()
