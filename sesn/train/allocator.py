"""Freed memory kept for reuse during CPU training (glibc Linux).

glibc serves large blocks (above its mmap threshold, which it raises by
itself to at most 32 MiB) with fresh pages from the kernel and hands them
back on free, so every training step page-faults in every large tensor
again, 4 KiB at a time: the toy network's [32, 16, 168, 168] activation alone
is 58 MB, and a step makes dozens of such tensors. ``keep_freed_memory``
raises the mmap and trim thresholds so that freed blocks stay in the heap
and the next step reuses them (``benchmarks/train.py`` measures the gain
beside glibc's default). Process-wide; where glibc's ``mallopt`` is absent
(macOS, Windows, musl) it changes nothing.
"""

import ctypes
import functools
import sys

KEPT_BYTES = 2**30  # blocks up to 1 GiB come from the heap; up to 1 GiB freed at its top stays there
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


@functools.cache
def keep_freed_memory() -> bool:
    """Raises glibc's mmap and trim thresholds to ``KEPT_BYTES`` (once per
    process). Returns whether glibc took both settings."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, KEPT_BYTES)) & bool(mallopt(_M_TRIM_THRESHOLD, KEPT_BYTES))
