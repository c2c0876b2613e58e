"""examples/init_comparison.py trains toy-ratio from the thesis's and the
suggested initial scales and reports both (a tiny protocol on fake digits)."""

import dataclasses
import importlib
import sys
from pathlib import Path

import xarray as xr
from click.testing import CliRunner

from tolerance.distributions import make_distribution
from tolerance.fit import suggest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_both_initialisations_train_and_are_reported(fake_mnist, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    for name in ("training_protocol", "init_comparison"):
        sys.modules.pop(name, None)
    protocol = importlib.import_module("training_protocol")
    example = importlib.import_module("init_comparison")
    tiny = dataclasses.replace(
        protocol.REDUCED,
        batch_size=4,
        toy_sizes=(8, 4, 4),
        toy_epochs=1,
        toy_milestones=(1,),
        toy_scale_warmup=0,
        eval_per_octave=0.5,
        eval_limit=2,
    )
    monkeypatch.setitem(protocol.PROTOCOLS, "reduced", tiny)  # the command's choices are fixed
    data = fake_mnist(20, 10)
    out = tmp_path / "runs"
    arguments = ["--protocol", "reduced", "--out", str(out), "--data", str(data), "--quiet"]
    result = CliRunner().invoke(example.main, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [line for line in (out / "init_comparison.md").read_text().splitlines() if line.startswith("| [")]
    assert [row.split(" | ")[1] for row in rows] == ["thesis", "suggest"] * 2
    for bounds in example.RANGES:
        expected = suggest(make_distribution("loguniform", *bounds), 3)
        with xr.open_dataset(example.suggest_dir(out, bounds) / "results.nc") as grid:
            assert bool(grid["test_error"].notnull().all())
        row = next(r for r in rows if r.startswith(f"| [{bounds[0]:g}, {bounds[1]:.3g}] | suggest"))
        assert row.split(" | ")[2] == f"{float(expected.sigma_basis):.3g}"
        assert row.split(" | ")[3] == f"{float(expected.isr):.3g}"
