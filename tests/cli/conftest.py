"""Fixtures of the tolcli tests: a fake MNIST folder and in-process tolcli runs."""

import gzip
import hashlib
import struct

import numpy as np
import pytest
from click.testing import CliRunner

from cli.main import main


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """fake_mnist(n_train, n_test) → a folder of random IDX gz files that pass
    the checksum check (tmp_path/mnist)."""

    def write(n_train, n_test):
        from sesn.data import mnist as mnist_module

        shapes = {
            "train-images-idx3-ubyte.gz": (n_train, 28, 28),
            "train-labels-idx1-ubyte.gz": (n_train,),
            "t10k-images-idx3-ubyte.gz": (n_test, 28, 28),
            "t10k-labels-idx1-ubyte.gz": (n_test,),
        }
        rng = np.random.default_rng(0)
        directory = tmp_path / "mnist"
        directory.mkdir()
        for name, shape in shapes.items():
            values = rng.integers(0, 10 if len(shape) == 1 else 256, shape).astype(np.uint8)
            header = struct.pack(">I", 0x0800 + len(shape)) + struct.pack(f">{len(shape)}I", *shape)
            blob = gzip.compress(header + values.tobytes())
            (directory / name).write_bytes(blob)
            monkeypatch.setitem(mnist_module.SHA256, name, hashlib.sha256(blob).hexdigest())
        return directory

    return write


@pytest.fixture
def data_dir(fake_mnist, monkeypatch):
    """A fake MNIST of 48 + 16 digits, named by $SCALETOL_DATA."""
    directory = fake_mnist(48, 16)
    monkeypatch.setenv("SCALETOL_DATA", str(directory))
    return directory


@pytest.fixture
def tolcli():
    """tolcli(*args) → the click Result of running tolcli in-process."""
    return lambda *args: CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def one_line_error():
    """one_line_error(result, *fragments): exit status 2 and one stderr line
    'tolcli: error: ...' holding every fragment."""

    def check(result, *fragments):
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tolcli: error:"), result.stderr
        assert all(f in lines[0] for f in fragments), lines[0]

    return check
