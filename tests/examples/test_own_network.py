"""examples/own_network.py, the README's "Use sesn in your own network", runs."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "own_network.py"


def load_example():
    spec = importlib.util.spec_from_file_location("own_network", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_goes_from_sizes_to_a_trained_saved_and_checked_model(tmp_path, capsys):
    example = load_example()
    result = example.run(steps=3, out=tmp_path / "model.pt")
    printed = capsys.readouterr().out
    assert "empirical" in printed and "refused: " in printed and "mode='ratio' in the state" in printed
    assert len(result["losses"]) == 3 and all(math.isfinite(v) for v in result["losses"])
    # the suggestion for log-uniform sizes over [1, 3] in data scale starts near 1 and the scales are learned
    assert 0.5 < result["initial"][0] / example.SIGMA_UNIT < 1.5
    assert len(result["scales"]) == 3 and result["scales"] != pytest.approx(result["initial"], rel=1e-9)
    assert result["errors"] and all(error < 1e-2 for error in result["errors"].values())
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert "scales.sigma" in state and not any(k.startswith(("lift.scales", "group.scales")) for k in state)
