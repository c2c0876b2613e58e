"""Fixtures shared by the test folders: a fake MNIST folder."""

import gzip
import hashlib
import struct

import numpy as np
import pytest


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
