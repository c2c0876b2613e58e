"""`tolcli train` trains DISCO's MNIST-Scale network on the tiny synthetic set,
and its checkpoint says which basis its weights belong to."""

import json

import pytest

from sesn.nn.state import decode_settings
from sesn.train.checkpoint import load_checkpoint

TINY = ["--limit-train", "16", "--limit-val", "8", "--limit-test", "8", "--batch-size", "8", "--epochs", "1"]
EVAL = ["--eval-per-octave", "0.5", "--eval-limit", "4", "--quiet"]


def test_one_epoch_of_mnist_scale_disco(data_dir, tmp_path, monkeypatch, tolcli):
    monkeypatch.setenv("SCALETOL_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    result = tolcli("train", "--model", "mnist-scale-disco", *TINY, *EVAL, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["epochs"] == 1 and 0 <= summary["test_error"] <= 1
    assert summary["scales"] == pytest.approx([1.8 * 2 ** (i / 3) for i in range(4)], rel=1e-6)
    weights = load_checkpoint(out / "checkpoint.pt")["model"]
    bases = [decode_settings(v) for k, v in weights.items() if k.endswith("_extra_state") and "features" in k]
    bases = [b for b in bases if "basis" in b]
    assert len(bases) == 3
    assert all(
        b == {"basis": "disco", "eff": 7, "index": "sesn", "mult": 1.5, "dilate": True, "noise_blur": 0.0}
        for b in bases
    )
    assert len(list((tmp_path / "cache" / "disco").iterdir())) == 1  # the three layers share one solved basis
