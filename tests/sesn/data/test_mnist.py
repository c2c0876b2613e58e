import gzip
import hashlib
import os
import struct
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from sesn.data.mnist import MNIST, SHA256, cache_dir, download_mnist, load_mnist

FILES = {
    "train-images-idx3-ubyte.gz": ("train", "images"),
    "train-labels-idx1-ubyte.gz": ("train", "labels"),
    "t10k-images-idx3-ubyte.gz": ("test", "images"),
    "t10k-labels-idx1-ubyte.gz": ("test", "labels"),
}


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: magic 0x0000 08 <ndim>, big-endian sizes, data."""
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(directory: Path, n_train=30, n_test=10, seed=0) -> dict:
    """Write the four IDX gz files of a small random MNIST; return its arrays
    and the SHA-256 of each file."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train": {"images": rng.integers(0, 256, (n_train, 28, 28)), "labels": rng.integers(0, 10, n_train)},
        "test": {"images": rng.integers(0, 256, (n_test, 28, 28)), "labels": rng.integers(0, 10, n_test)},
    }
    directory.mkdir(parents=True, exist_ok=True)
    checksums = {}
    for name, (split, kind) in FILES.items():
        data = gzip.compress(idx_bytes(arrays[split][kind]))
        (directory / name).write_bytes(data)
        checksums[name] = hashlib.sha256(data).hexdigest()
    return {"arrays": arrays, "checksums": checksums}


@pytest.fixture
def synthetic(tmp_path):
    written = write_mnist(tmp_path / "mnist")
    return tmp_path / "mnist", written["checksums"], written["arrays"]


def replace_file(directory: Path, name: str, data: bytes, checksums: dict) -> dict:
    """Overwrite one file and return checksums that accept the new content."""
    (directory / name).write_bytes(data)
    return {**checksums, name: hashlib.sha256(data).hexdigest()}


def test_pools_training_then_test_digits(synthetic):
    directory, checksums, arrays = synthetic
    mnist = load_mnist(directory, checksums=checksums)
    expected_images = np.concatenate([arrays["train"]["images"], arrays["test"]["images"]])
    expected_labels = np.concatenate([arrays["train"]["labels"], arrays["test"]["labels"]])
    assert mnist.images.dtype == torch.uint8 and mnist.labels.dtype == torch.int64
    assert np.array_equal(mnist.images.numpy(), expected_images)
    assert np.array_equal(mnist.labels.numpy(), expected_labels)
    assert len(mnist) == 40


def test_directory_comes_from_scaletol_data_when_not_named(synthetic, monkeypatch):
    directory, checksums, _ = synthetic
    monkeypatch.setenv("SCALETOL_DATA", str(directory))
    assert len(load_mnist(checksums=checksums)) == 40


def test_no_directory_at_all_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv("SCALETOL_DATA", raising=False)
    with pytest.raises(ValueError, match="SCALETOL_DATA"):
        load_mnist()


def test_missing_directory_is_named(tmp_path):
    with pytest.raises(ValueError, match="nowhere.*does not exist"):
        load_mnist(tmp_path / "nowhere")


def test_missing_file_is_named(synthetic):
    directory, checksums, _ = synthetic
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(ValueError, match="missing MNIST file .*t10k-labels-idx1-ubyte.gz"):
        load_mnist(directory, checksums=checksums)


def test_files_that_are_not_the_genuine_mnist_fail_the_checksum(synthetic):
    directory, _, _ = synthetic
    expected = SHA256["train-images-idx3-ubyte.gz"]
    with pytest.raises(ValueError, match=f"train-images-idx3-ubyte.gz has SHA-256 .*expected {expected}"):
        load_mnist(directory)


def test_truncated_gzip_is_named(synthetic):
    directory, checksums, _ = synthetic
    name = "train-images-idx3-ubyte.gz"
    data = (directory / name).read_bytes()
    checksums = replace_file(directory, name, data[: len(data) // 2], checksums)
    with pytest.raises(ValueError, match=f"{name} is not a complete gzip file"):
        load_mnist(directory, checksums=checksums)


def test_idx_shorter_than_its_header_promises_is_named(synthetic):
    directory, checksums, arrays = synthetic
    name = "train-images-idx3-ubyte.gz"
    short = idx_bytes(arrays["train"]["images"])[:-100]
    checksums = replace_file(directory, name, gzip.compress(short), checksums)
    with pytest.raises(ValueError, match=f"{name} holds {len(short)} bytes .*needs {len(short) + 100}"):
        load_mnist(directory, checksums=checksums)


def test_wrong_magic_number_is_named(synthetic):
    directory, checksums, arrays = synthetic
    name = "train-labels-idx1-ubyte.gz"
    checksums = replace_file(directory, name, gzip.compress(idx_bytes(arrays["train"]["images"])), checksums)
    with pytest.raises(ValueError, match=f"{name} does not start with IDX magic number 2049"):
        load_mnist(directory, checksums=checksums)


def test_images_and_labels_must_pair_up(synthetic):
    directory, checksums, arrays = synthetic
    name = "t10k-labels-idx1-ubyte.gz"
    checksums = replace_file(directory, name, gzip.compress(idx_bytes(arrays["test"]["labels"][:7])), checksums)
    with pytest.raises(ValueError, match="holds 10 images but t10k-labels-idx1-ubyte.gz 7 labels"):
        load_mnist(directory, checksums=checksums)


def test_mnist_checks_its_tensors():
    with pytest.raises(ValueError, match="uint8"):
        MNIST(images=torch.zeros(3, 28, 28), labels=torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="labels"):
        MNIST(images=torch.zeros(3, 28, 28, dtype=torch.uint8), labels=torch.zeros(2, dtype=torch.int64))


def test_fingerprint_tells_contents_apart():
    images = torch.zeros(3, 28, 28, dtype=torch.uint8)
    first = MNIST(images=images, labels=torch.tensor([0, 1, 2]))
    same = MNIST(images=images.clone(), labels=torch.tensor([0, 1, 2]))
    other = MNIST(images=images, labels=torch.tensor([0, 1, 3]))
    assert first.fingerprint == same.fingerprint != other.fingerprint


def test_cache_dir_follows_scaletol_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SCALETOL_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("SCALETOL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "scaletol"


def test_download_takes_the_first_mirror_that_serves_intact_files(synthetic, tmp_path):
    source, checksums, _ = synthetic
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for name in FILES:
        (corrupt / name).write_bytes(b"not mnist")
    mirrors = ((tmp_path / "absent").as_uri() + "/", corrupt.as_uri() + "/", source.as_uri() + "/")
    target = tmp_path / "downloaded"
    download_mnist(target, mirrors=mirrors, checksums=checksums, progress=False)
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (target / name).read_bytes() == (source / name).read_bytes()
    assert len(load_mnist(target, checksums=checksums)) == 40


def test_download_keeps_verified_files(synthetic):
    directory, checksums, _ = synthetic

    def no_network(url, timeout):
        raise AssertionError(f"fetched {url}")

    download_mnist(directory, mirrors=("https://example.invalid/",), checksums=checksums, opener=no_network)


class BrokenResponse:
    """A response that delivers `good` bytes and then loses the connection."""

    headers = {"Content-Length": "1000"}

    def __init__(self, good: bytes):
        self.chunks = [good]

    def read(self, size):
        if self.chunks:
            return self.chunks.pop()
        raise ConnectionResetError("connection reset by peer")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_interrupted_download_leaves_nothing_and_restarts_cleanly(synthetic, tmp_path):
    source, checksums, _ = synthetic
    target = tmp_path / "downloaded"
    with pytest.raises(OSError, match="could not download train-images-idx3-ubyte.gz.*connection reset"):
        download_mnist(
            target,
            mirrors=("https://mirror.test/",),
            checksums=checksums,
            progress=False,
            opener=lambda url, timeout: BrokenResponse(b"partial data"),
        )
    assert list(target.iterdir()) == []
    download_mnist(
        target, mirrors=(source.as_uri() + "/",), checksums=checksums, progress=False, opener=urllib.request.urlopen
    )
    assert len(load_mnist(target, checksums=checksums)) == 40


@pytest.mark.mnist
@pytest.mark.skipif(not os.environ.get("SCALETOL_DATA"), reason="SCALETOL_DATA does not point at MNIST")
def test_the_real_mnist():
    mnist = load_mnist()
    # Label counts of the training and test files as published with MNIST.
    train_counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    test_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert len(mnist) == 70_000
    assert mnist.labels[:60_000].bincount().tolist() == train_counts
    assert mnist.labels[60_000:].bincount().tolist() == test_counts
    assert float(mnist.images.float().mean() / 255) == pytest.approx(0.1307, abs=1e-3)  # the usual MNIST mean
