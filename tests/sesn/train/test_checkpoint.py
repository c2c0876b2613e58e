import pytest
import torch

from scaletol.checks import InputError
from sesn.train.checkpoint import TrainingState, load_checkpoint, restore_rng_states, rng_states, save_checkpoint


def test_round_trip_and_rng_restore(tmp_path):
    cpu = torch.device("cpu")
    torch.manual_seed(3)
    state = {"epoch": 2, "model": {"w": torch.arange(4.0)}, "history": [{"loss": 1.5}], "rng": rng_states(cpu)}
    expected = torch.rand(5)
    back = load_checkpoint(save_checkpoint(state, tmp_path / "checkpoint.pt"))
    assert back["epoch"] == 2 and back["history"] == [{"loss": 1.5}]
    assert torch.equal(back["model"]["w"], torch.arange(4.0))
    restore_rng_states(back["rng"], cpu)
    assert torch.equal(torch.rand(5), expected)


def test_truncated_checkpoint_is_a_value_error(tmp_path):
    path = save_checkpoint({"w": torch.ones(1000)}, tmp_path / "checkpoint.pt")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="checkpoint.pt"):
        load_checkpoint(path)


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nothing.pt")


def test_training_state_round_trips_through_a_checkpoint_file(tmp_path):
    model = torch.nn.Linear(3, 2)
    state = TrainingState()
    state.record_epoch({"epoch": 1, "val_error": 0.5}, model, seconds=2.0, samples=64)
    with torch.no_grad():
        model.weight.add_(1.0)
    state.record_epoch({"epoch": 2, "val_error": 0.25}, model, seconds=1.0, samples=64)
    state.record_epoch({"epoch": 3, "val_error": 0.25}, model, seconds=1.0, samples=64)  # a tie keeps epoch 2
    path = save_checkpoint({**state.to_dict(), "other": 1}, tmp_path / "checkpoint.pt")
    back = TrainingState.from_dict(load_checkpoint(path))
    assert (back.epoch, back.train_seconds, back.train_samples) == (3, 4.0, 192)
    assert back.history == state.history
    assert (back.best.epoch, back.best.val_error) == (2, 0.25)
    assert torch.equal(back.best.weights["weight"], model.weight.detach())
    assert back.samples_per_s == 48.0


def test_the_best_model_is_a_copy_not_a_view_of_the_live_weights():
    model = torch.nn.Linear(3, 2)
    state = TrainingState()
    state.record_epoch({"val_error": 0.5}, model, seconds=1.0, samples=1)
    before = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.mul_(3.0)
    assert torch.equal(state.best.weights["weight"], before)


def test_a_missing_checkpoint_is_an_input_error_naming_it(tmp_path):
    with pytest.raises(InputError, match="nothing.pt"):
        load_checkpoint(tmp_path / "nothing.pt")
