"""Atomic file writes: readers see the old file or the complete new one, never
a half-written file, even when the writer is killed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from scaletol.checks import check_file, unreadable


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` on a temporary path next to `path`, then rename it onto
    `path`. The temporary file is removed if `write` fails. Returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes it private; give it a plain file's mode
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def cache_dir() -> Path:
    """Where scaletol keeps what it downloads or computes once (MNIST files,
    built datasets, DISCO bases): $SCALETOL_CACHE, else
    $XDG_CACHE_HOME/scaletol, else ~/.cache/scaletol."""
    if os.environ.get("SCALETOL_CACHE"):
        return Path(os.environ["SCALETOL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scaletol"


def unwritable(folder: str | os.PathLike) -> str | None:
    """Why no new file can be written in `folder`, or None if one can (tested
    by writing and removing an empty file: the only sure test)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".probe.", dir=folder)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.remove(name)
    return None


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_text(name: str, path: str | os.PathLike) -> str:
    """The UTF-8 text of the `name` file the user gave at `path`; missing or
    unreadable, an InputError naming it."""
    path = check_file(name, path)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise unreadable(name, path, exc) from None
