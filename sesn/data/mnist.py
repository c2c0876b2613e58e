"""MNIST from its four gzip-compressed IDX files: checksum verification,
parsing, and an optional download from the public mirrors.

The 60k training and 10k test digits are pooled (training first), because the
thesis's datasets draw their own splits from all 70k.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from scaletol.checks import InputError, MissingFileError
from scaletol.datasets import DIGIT_SIZE
from scaletol.files import atomic_write, cache_dir

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

# SHA-256 of the files as originally distributed by LeCun, Cortes and Burges.
SHA256 = {
    TRAIN_IMAGES: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    TRAIN_LABELS: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    TEST_IMAGES: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    TEST_LABELS: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# Public copies of the original files, tried in this order.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

IMAGE_MAGIC = 2051  # IDX: unsigned bytes, 3 dimensions (count, rows, columns)
LABEL_MAGIC = 2049  # IDX: unsigned bytes, 1 dimension (count)

_CHUNK = 1 << 16  # download read size, bytes


@dataclass(frozen=True, eq=False)
class MNIST:
    """Pooled MNIST digits.

    images: uint8 [N, 28, 28], 0 = background, 255 = ink.
    labels: int64 [N], digits 0-9.
    """

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE):
            raise InputError(
                f"MNIST images must be uint8 [N, 28, 28], got {self.images.dtype} {list(self.images.shape)}"
            )
        if self.labels.dtype != torch.int64 or self.labels.shape != self.images.shape[:1]:
            raise InputError(
                f"MNIST labels must be int64 [{len(self.images)}], got {self.labels.dtype} {list(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return len(self.labels)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of the image and label bytes: names this exact content."""
        digest = hashlib.sha256()
        digest.update(self.images.contiguous().numpy().tobytes())
        digest.update(self.labels.contiguous().numpy().tobytes())
        return digest.hexdigest()


def load_mnist(
    root: str | os.PathLike | None = None,
    *,
    download: bool = False,
    checksums: Mapping[str, str] = SHA256,
) -> MNIST:
    """Read and verify the four IDX gz files in `root` (else $SCALETOL_DATA).

    download: fetch missing or corrupt files first (into `root`, or into
    cache_dir()/"mnist" when no directory is named).
    checksums: expected SHA-256 per file name (the genuine MNIST by default).
    Raises InputError naming the directory or file that is missing or wrong.
    """
    directory = _data_dir(root, download)
    if download:
        download_mnist(directory, checksums=checksums)
    elif not directory.is_dir():
        raise InputError(f"MNIST directory {directory} does not exist")
    train_images, train_labels = _read_pair(directory, TRAIN_IMAGES, TRAIN_LABELS, checksums)
    test_images, test_labels = _read_pair(directory, TEST_IMAGES, TEST_LABELS, checksums)
    return MNIST(
        images=torch.from_numpy(np.concatenate([train_images, test_images])),
        labels=torch.from_numpy(np.concatenate([train_labels, test_labels]).astype(np.int64)),
    )


def download_mnist(
    directory: str | os.PathLike,
    *,
    mirrors: tuple[str, ...] = MIRRORS,
    checksums: Mapping[str, str] = SHA256,
    opener: Callable = urllib.request.urlopen,
    progress: bool = True,
) -> Path:
    """Make sure `directory` holds the four verified files, downloading those
    missing or corrupt from the first mirror that serves them intact.

    A download is written atomically (scaletol.files) and kept only once its
    SHA-256 matches, so an interrupted run leaves no wrong file behind and the
    next run starts that file over. `opener(url, timeout=...)` returns a readable
    response (urllib's urlopen by default). Raises OSError when no mirror works.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS):
        target = directory / name
        if target.is_file() and _sha256(target.read_bytes()) == checksums[name]:
            continue
        failures = []
        for mirror in mirrors:
            try:
                _fetch(mirror + name, target, checksums[name], opener, progress)
                break
            except (OSError, ValueError) as exc:
                failures.append(f"{mirror + name}: {exc}")
        else:
            raise OSError(f"could not download {name}: " + "; ".join(failures))
    return directory


def _fetch(url: str, target: Path, expected: str, opener: Callable, progress: bool) -> None:
    """Stream `url` into `target` atomically, keeping it only if its SHA-256 is `expected`."""

    def download(partial: Path) -> None:
        digest = hashlib.sha256()
        with opener(url, timeout=60) as response, open(partial, "wb") as out:
            total = response.headers.get("Content-Length")
            with tqdm(
                total=int(total) if total else None,
                unit="B",
                unit_scale=True,
                desc=target.name,
                disable=not progress,
                leave=False,
            ) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if digest.hexdigest() != expected:
            raise ValueError(f"SHA-256 {digest.hexdigest()}, expected {expected}")

    atomic_write(target, download)


def _data_dir(root: str | os.PathLike | None, download: bool) -> Path:
    """The MNIST folder: `root`, else $SCALETOL_DATA, else (to download) the cache."""
    if root is not None:
        return Path(root)
    if os.environ.get("SCALETOL_DATA"):
        return Path(os.environ["SCALETOL_DATA"])
    if download:
        return cache_dir() / "mnist"
    raise InputError("no MNIST directory: name one or set SCALETOL_DATA (or let scaletol download it)")


def _read_pair(
    directory: Path, image_file: str, label_file: str, checksums: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [n, 28, 28] and labels uint8 [n] of one original split."""
    images = _read_idx(directory / image_file, checksums, IMAGE_MAGIC)
    labels = _read_idx(directory / label_file, checksums, LABEL_MAGIC)
    if images.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE):
        raise InputError(f"{directory / image_file} holds {images.shape[1]}x{images.shape[2]} images, expected 28x28")
    if len(images) != len(labels):
        raise InputError(f"{directory / image_file} holds {len(images)} images but {label_file} {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise InputError(f"{directory / label_file} holds label {labels.max()}, expected 0-9")
    return images, labels


def _read_idx(path: Path, checksums: Mapping[str, str], magic: int) -> np.ndarray:
    """The uint8 array in the IDX gz file `path`, after checking its SHA-256."""
    if not path.is_file():
        raise MissingFileError(f"missing MNIST file {path}", path)
    raw = path.read_bytes()
    actual = _sha256(raw)
    if actual != checksums[path.name]:
        raise InputError(f"{path} has SHA-256 {actual}, expected {checksums[path.name]} (corrupt or incomplete file)")
    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path} is not a complete gzip file ({exc})") from None
    ndim = magic & 0xFF
    header = 4 * (1 + ndim)
    if len(data) < header or int.from_bytes(data[:4], "big") != magic:
        raise InputError(f"{path} does not start with IDX magic number {magic}")
    shape = tuple(int.from_bytes(data[4 * (i + 1) : 4 * (i + 2)], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise InputError(
            f"{path} holds {len(data)} bytes after decompression, its header {list(shape)} needs {expected}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
