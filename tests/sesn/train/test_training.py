import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest
import torch
import xarray as xr

from scaletol.results import read_results
from sesn.data.mnist import MNIST
from sesn.models import MODELS, model_spec
from sesn.train.checkpoint import load_checkpoint
from sesn.train.config import TrainConfig
from sesn.train.loop import evaluate_run, train

TIMING_COLUMNS = ["seconds", "samples_per_s"]


def synthetic_mnist(n=96, seed=0):
    """Random 28×28 'digits' whose label is readable from the image (brightness)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    images = (torch.rand(n, 28, 28, generator=g) * 25 * (labels[:, None, None] + 1)).to(torch.uint8)
    return MNIST(images, labels)


def tiny_config(model, **changes):
    """One epoch of 2 steps on a handful of samples, small kernels, 2 evaluation scales."""
    spec = model_spec(model)
    options = {}
    if spec.mode:
        options = dict(max_kernel=7 if spec.dataset == "dynamic-mnist" else 5)
    settings = dict(
        model=model,
        dataset=spec.dataset,
        sizes=(16, 8, 8),
        epochs=1,
        batch_size=8,
        eval_per_octave=0.2,
        eval_limit=4,
        **options,
    )
    return TrainConfig(**{**settings, **changes})


@pytest.mark.parametrize("model", MODELS)
def test_one_epoch_smoke_run_of_every_model(model, tmp_path):
    config = tiny_config(model)
    run = train(config, tmp_path, mnist=synthetic_mnist(), device="cpu", progress=False)
    summary = run.to_dict()
    assert {"test_error", "val_error", "sigma_basis", "isr", "scales", "epochs", "samples_per_s"} <= set(summary)
    assert 0 <= summary["test_error"] <= 1 and summary["epochs"] == 1 and summary["samples_per_s"] > 0
    json.dumps(summary)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert len(metrics) == 1
    results = read_results(tmp_path / "results.nc")
    assert results["error"].dims == ("seed", "isr", "data_scale")
    lo, hi = config.eval_range
    assert results["data_scale"].values[[0, -1]] == pytest.approx([lo, hi])
    assert (results["n"] == 4).all()
    assert TrainConfig.load(tmp_path / "config.json") == config
    rates = metrics.iloc[0]
    assert rates["lr"] == pytest.approx(0.01)
    if model_spec(model).mode in (None, "fixed"):
        assert math.isnan(rates["scale_lr"])
    else:  # the 2nd step of a 5-epoch (toy) or 10-epoch (MNIST-Scale) linear warm-up of 2 steps per epoch
        assert rates["scale_lr"] == pytest.approx(0.01 * 2 / 10 if model.startswith("toy") else 0.005 * 2 / 20)
    if model_spec(model).mode is None:
        assert summary["scales"] == [] and summary["isr"] is None
    else:
        logged = [metrics[f"scale_{i + 1}"].iloc[0] for i in range(len(summary["scales"]))]
        assert logged == pytest.approx(summary["scales"])
        assert results["scales"].values.ravel() == pytest.approx(summary["scales"])
        assert summary["isr"] == pytest.approx(max(logged) / min(logged))


def test_fixed_scales_stay_put(tmp_path):
    run = train(tiny_config("toy-fixed", isr=4.0), tmp_path, mnist=synthetic_mnist(), device="cpu", progress=False)
    assert run.scales == pytest.approx([2.0, 4.0, 8.0])


def test_the_best_validation_epoch_is_the_one_reported(tmp_path):
    config = tiny_config("mnist-scale-cnn", epochs=4, sizes=(16, 16, 8))
    run = train(config, tmp_path, mnist=synthetic_mnist(), device="cpu", progress=False)
    val = pd.read_csv(tmp_path / "metrics.csv")["val_error"]
    assert run.val_error == val.min()
    assert run.best_epoch == int(val.idxmin()) + 1  # first epoch reaching the minimum


class Interrupted(Exception):
    pass


def interrupt_at(epoch, batch):
    def hook(e, b):
        if (e, b) == (epoch, batch):
            raise Interrupted

    return hook


def assert_same_run(a, b):
    xr.testing.assert_identical(read_results(a.out_dir / "results.nc"), read_results(b.out_dir / "results.nc"))
    metrics_a = pd.read_csv(a.out_dir / "metrics.csv").drop(columns=TIMING_COLUMNS)
    metrics_b = pd.read_csv(b.out_dir / "metrics.csv").drop(columns=TIMING_COLUMNS)
    pd.testing.assert_frame_equal(metrics_a, metrics_b)
    state_a = load_checkpoint(a.out_dir / "checkpoint.pt")["model"]
    state_b = load_checkpoint(b.out_dir / "checkpoint.pt")["model"]
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_resume_after_a_mid_epoch_interruption_matches_an_uninterrupted_run(tmp_path):
    """mnist-scale-isr draws dropout from the torch generator and learns its scales."""
    data = synthetic_mnist()
    config = tiny_config("mnist-scale-isr", epochs=2, milestones=(1,), scale_warmup=1)
    whole = train(config, tmp_path / "whole", mnist=data, device="cpu", progress=False)
    with pytest.raises(Interrupted):
        train(config, tmp_path / "cut", mnist=data, device="cpu", progress=False, on_batch=interrupt_at(1, 0))
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["epoch"] == 1
    resumed = train(config, tmp_path / "cut", mnist=data, device="cpu", progress=False, resume=True)
    assert resumed.to_dict() | {"out": None, "samples_per_s": None} == whole.to_dict() | {
        "out": None,
        "samples_per_s": None,
    }
    assert_same_run(whole, resumed)


KILLED_CHILD = textwrap.dedent("""
    import sys, time, pathlib
    import torch
    from sesn.train.config import TrainConfig
    from sesn.data.mnist import MNIST
    from sesn.train.loop import train
    config = TrainConfig.load(sys.argv[1])
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 10, (96,), generator=g)
    images = (torch.rand(96, 28, 28, generator=g) * 25 * (labels[:, None, None] + 1)).to(torch.uint8)
    marker = pathlib.Path(sys.argv[3])
    def hang_in_epoch_2(epoch, batch):
        if (epoch, batch) == (1, 0):
            marker.touch()
            time.sleep(600)
    train(config, sys.argv[2], mnist=MNIST(images, labels), device="cpu", progress=False,
          on_batch=hang_in_epoch_2)
""")


def test_a_killed_process_resumes_to_the_same_result(tmp_path):
    config = tiny_config("toy-isr", epochs=2)
    config.save(tmp_path / "config.json")
    marker = tmp_path / "in-epoch-2"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(tmp_path / "config.json"), str(tmp_path / "killed"), str(marker)]
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the child never reached epoch 2"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    data = synthetic_mnist()
    resumed = train(config, tmp_path / "killed", mnist=data, device="cpu", progress=False, resume=True)
    whole = train(config, tmp_path / "whole", mnist=data, device="cpu", progress=False)
    assert_same_run(whole, resumed)


def test_a_used_directory_needs_resume_and_the_same_config(tmp_path):
    data = synthetic_mnist()
    config = tiny_config("mnist-scale-cnn")
    train(config, tmp_path, mnist=data, device="cpu", progress=False)
    with pytest.raises(ValueError, match="already holds a run"):
        train(config, tmp_path, mnist=data, device="cpu", progress=False)
    with pytest.raises(ValueError, match="lr"):
        train(config.replace(lr=0.5), tmp_path, mnist=data, device="cpu", progress=False, resume=True)


def test_resuming_a_finished_run_reproduces_its_result(tmp_path):
    data = synthetic_mnist()
    config = tiny_config("mnist-scale-cnn")
    first = train(config, tmp_path, mnist=data, device="cpu", progress=False)
    again = train(config, tmp_path, mnist=data, device="cpu", progress=False, resume=True)
    assert again.test_error == first.test_error and again.epochs == 1
    xr.testing.assert_identical(again.results, first.results)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"model": "mnist-scale-cnn"}, "mnist-scale"),
        ({"batch_size": 64}, "64"),
    ],
)
def test_impossible_runs_are_refused(changes, named, tmp_path):
    with pytest.raises(ValueError, match=named):  # the config or the run refuses
        train(
            tiny_config("toy-fixed").replace(**changes), tmp_path, mnist=synthetic_mnist(), device="cpu", progress=False
        )


def test_unknown_device_is_named(tmp_path):
    with pytest.raises(ValueError, match="tpu"):
        train(tiny_config("toy-fixed"), tmp_path, mnist=synthetic_mnist(), device="tpu", progress=False)


def test_evaluating_a_run_again_reproduces_its_results_and_takes_a_new_grid(tmp_path):
    data = synthetic_mnist()
    run = train(tiny_config("mnist-scale-cnn"), tmp_path, mnist=data, device="cpu", progress=False)
    again = evaluate_run(tmp_path, mnist=data, device="cpu", progress=False)
    xr.testing.assert_identical(again, read_results(tmp_path / "results.nc"))
    finer = evaluate_run(
        tmp_path, eval_range=(0.5, 1.0), eval_per_octave=2, eval_limit=3, mnist=data, device="cpu", progress=False
    )
    assert finer["data_scale"].values == pytest.approx([0.5, 2**-0.5, 1.0])
    assert (finer["n"] == 3).all()
    assert finer["test_error"].item() == run.test_error


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("model", ["toy-ratio", "mnist-scale-isr"])
def test_training_on_cuda_resumes_after_an_interruption_to_the_uninterrupted_run(model, tmp_path, monkeypatch):
    """Learnable scales on the GPU; cuDNN held to its deterministic algorithms
    so that two runs may be compared exactly."""
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    data = synthetic_mnist()
    config = tiny_config(model, epochs=2, milestones=(1,), scale_warmup=1)
    whole = train(config, tmp_path / "whole", mnist=data, device="cuda", progress=False)
    with pytest.raises(Interrupted):
        train(config, tmp_path / "cut", mnist=data, device="cuda", progress=False, on_batch=interrupt_at(1, 0))
    resumed = train(config, tmp_path / "cut", mnist=data, device="cuda", progress=False, resume=True)
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["epoch"] == 2
    assert_same_run(whole, resumed)
    assert math.isfinite(resumed.test_error)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_evaluation_on_cuda_counts_the_same_errors_as_on_the_cpu(tmp_path):
    from sesn.data.registry import build_dataset
    from sesn.models import make_model
    from sesn.train.evaluation import error_rate, per_scale_errors
    from tolerance.distributions import make_distribution

    splits = build_dataset(
        "dynamic-mnist", mnist=synthetic_mnist(), dist=make_distribution("loguniform", 1, 2), sizes=(8, 8, 16)
    )
    torch.manual_seed(0)
    model = make_model("toy-fixed", max_kernel=7)
    results = {}
    for device in ("cpu", "cuda"):
        model.to(device)
        errors, counts = per_scale_errors(model, splits.test, [0.7, 1.0, 2.0], batch_size=6, device=device)
        overall = error_rate(model, splits.test, batch_size=6, device=device)
        results[device] = (overall, errors.tolist(), counts.tolist())
    assert results["cuda"] == results["cpu"]
    assert results["cpu"][2] == [16, 16, 16]
