import pytest
import torch

from sesn.train.checkpoint import load_checkpoint, restore_rng_states, rng_states, save_checkpoint


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
