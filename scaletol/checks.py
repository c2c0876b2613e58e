"""Bad user input, as one exception type, and the validators that raise it.

Every message reads ``NAME=VALUE must be REQUIREMENT``, e.g.
``ns=0 must be an integer in [1, 64]``. `tolcli` turns exactly `InputError`
into a one-line message with exit status 2; any other exception is a bug.
Numbers may be Python, NumPy or 0-d tensor numbers (anything ``float()`` or
``operator.index()`` takes), never bools or strings.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Collection
from os import PathLike
from pathlib import Path
from typing import Any


class InputError(ValueError):
    """A value the user gave is outside what the code accepts."""


class MissingFileError(InputError, FileNotFoundError):
    """A file the user named is not there (an InputError and a FileNotFoundError)."""

    def __init__(self, message: str, path: str | PathLike):
        super().__init__(message)
        self.filename = str(path)

    def __str__(self) -> str:
        return self.args[0]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fail(name: str, value: Any, requirement: str) -> InputError:
    """The InputError for ``name=value``, which must be ``requirement``."""
    return InputError(f"{name}={_shown(value)} must be {requirement}")


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '≥'} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '≤'} {high:g}"
    return ""


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float within the bounds (open or closed)."""
    requirement = f"a finite number {_interval(low, high, low_open, high_open)}".rstrip()
    if isinstance(value, (bool, str, bytes)):
        raise fail(name, value, requirement)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise fail(name, value, requirement) from None
    if not math.isfinite(number):
        raise fail(name, value, requirement)
    if low is not None and (number < low or (low_open and number == low)):
        raise fail(name, value, requirement)
    if high is not None and (number > high or (high_open and number == high)):
        raise fail(name, value, requirement)
    return number


def check_positive(name: str, value: Any, *, high: float | None = None) -> float:
    """``value`` as a finite float > 0 (and ≤ ``high`` if given)."""
    return check_number(name, value, low=0.0, low_open=True, high=high)


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int within [low, high]."""
    requirement = f"an integer {_interval(low, high, False, False)}".rstrip()
    if isinstance(value, (bool, str, bytes)):
        raise fail(name, value, requirement)
    try:
        number = operator.index(value)
    except TypeError:
        raise fail(name, value, requirement) from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise fail(name, value, requirement)
    return number


def check_choice(name: str, value: Any, choices: Collection[Any]) -> Any:
    """``value`` if it is one of ``choices``."""
    if isinstance(value, bool) or value not in choices:
        raise fail(name, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def check_range(name: str, bounds: Any, *, low: float = 0.0, high: float | None = None) -> tuple[float, float]:
    """``bounds`` as (lo, hi) with low < lo < hi (≤ high if given)."""
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise fail(name, bounds, "a pair (lo, hi)") from None
    lo = check_number(name, lo, low=low, low_open=True, high=high)
    hi = check_number(name, hi, low=low, low_open=True, high=high)
    if not lo < hi:
        raise fail(name, bounds, "a pair (lo, hi) with lo < hi")
    return lo, hi


def check_file(name: str, path: str | PathLike) -> Path:
    """`path` as a Path, if it names an existing file (else MissingFileError)."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{name}={str(path)!r} must be an existing file", path)
    return path


def unreadable(name: str, path: str | PathLike, reason: object) -> InputError:
    """The InputError for a file `path` that exists but cannot be read as `name`
    (the path in full, the `reason` shortened to one line)."""
    why = " ".join(str(reason).split())
    why = why if len(why) <= 80 else why[:77] + "..."
    return InputError(f"{name}={str(path)!r} must be a readable {name} file ({why})")
