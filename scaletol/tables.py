"""Reading the text tables users give: CSV files with a header row, or files of
one value per line. Every problem is an `InputError` that names the file (and
the line), never a decoder's or parser's message alone.

Accepted: UTF-8 text with or without a byte-order mark (Excel writes one) and
UTF-16 with its byte-order mark (Excel's "Unicode text"), at most
MAX_FILE_BYTES, fields of at most MAX_FIELD_CHARS characters. Header names and
cells are stripped of surrounding blanks; blank lines are skipped.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from scaletol.checks import InputError, check_int, check_number

MAX_FILE_BYTES = 128 * 2**20
MAX_FIELD_CHARS = 10_000  # no number or name needs more


def read_text(path: str | os.PathLike, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The decoded text of `path`; InputError naming the file if it is missing,
    larger than `max_bytes`, binary or not UTF-8/UTF-16 text."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise InputError(f"{name}: no such file")
    if not os.path.isfile(name):
        raise InputError(f"{name} is not a file")
    size = os.path.getsize(name)
    if size > max_bytes:
        raise InputError(f"{name} has {size} bytes; it must have at most {max_bytes}")
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputError(f"{name} cannot be read: {exc.strerror or exc}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, label = "utf-16", "UTF-16"
    elif b"\0" in data:
        raise InputError(f"{name} is a binary file, not a text table")
    else:
        encoding, label = "utf-8-sig", "UTF-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{name} line {line}: not {label} text (byte {data[exc.start]:#04x})") from None


@dataclass
class Table:
    """Cells of a text table. rows: (line number in the file, cells), one per
    non-blank line after the header; columns: the header's names."""

    path: str
    columns: list[str]
    rows: list[tuple[int, list[str]]]

    def require(self, *names: str) -> None:
        """InputError listing the missing columns (and those found) unless all `names` are columns."""
        missing = [n for n in names if n not in self.columns]
        if missing:
            found = ", ".join(self.columns) or "none"
            raise InputError(f"{self.path}: missing column(s) {', '.join(missing)} (found: {found})")

    def texts(self, column: str) -> list[tuple[int, str]]:
        """(line, cell) of every row in `column` ('' where a row is short)."""
        self.require(column)
        index = self.columns.index(column)
        return [(line, cells[index] if index < len(cells) else "") for line, cells in self.rows]

    def numbers(self, column: str, *, integer: bool = False, **bounds: Any) -> np.ndarray:
        """`column` as floats, each checked like `scaletol.checks.check_number`
        (`bounds`: low, high, low_open, high_open) or, with `integer`, like
        `check_int`; InputError naming the file, line, column and text otherwise."""
        return np.array(
            [
                parse_number(f"{self.path} line {line}: {column}", text, integer=integer, **bounds)
                for line, text in self.texts(column)
            ],
            dtype=float,
        )


def parse_number(name: str, text: str, *, integer: bool = False, **bounds: Any) -> float:
    """`text` as a number within `bounds`; InputError ``NAME='TEXT' must be ...`` otherwise."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    try:
        if integer:
            if not value.is_integer():
                raise InputError("")
            return float(check_int(name, int(value), low=bounds.get("low"), high=bounds.get("high")))
        return check_number(name, value, **bounds)
    except InputError:
        raise InputError(f"{name}={text!r} must be {_requirement(integer, bounds)}") from None


def _requirement(integer: bool, bounds: dict) -> str:
    """The requirement text the validators state for these bounds."""
    try:
        if integer:
            check_int("x", 0.5, low=bounds.get("low"), high=bounds.get("high"))
        check_number("x", math.nan, **bounds)
    except InputError as exc:
        return str(exc).split(" must be ", 1)[1]
    raise AssertionError("unreachable: the probe values always fail")


def read_table(path: str | os.PathLike) -> Table:
    """A CSV file whose first non-blank line names the columns."""
    name = os.fspath(path)
    reader = csv.reader(io.StringIO(read_text(name), newline=""), skipinitialspace=True)
    lines: list[tuple[int, list[str]]] = []
    previous = csv.field_size_limit(MAX_FILE_BYTES)  # lengths are checked below, with a clear message
    try:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise InputError(f"{name} line {reader.line_num}: not valid CSV ({exc})") from None
            if any(len(cell) > MAX_FIELD_CHARS for cell in cells):
                raise InputError(f"{name} line {reader.line_num}: a field longer than {MAX_FIELD_CHARS} characters")
            cells = [cell.strip() for cell in cells]
            if any(cells):
                lines.append((reader.line_num, cells))
    finally:
        csv.field_size_limit(previous)
    if not lines:
        raise InputError(f"{name} is empty")
    (_, header), rows = lines[0], lines[1:]
    if len(set(header)) != len(header) or not all(header):
        raise InputError(f"{name} line {lines[0][0]}: column names must be unique and non-empty, got {header}")
    for line, cells in rows:
        if len(cells) != len(header):
            raise InputError(f"{name} line {line}: {len(cells)} fields where the header names {len(header)}")
    return Table(path=name, columns=header, rows=rows)


def read_values(path: str | os.PathLike, column: str = "value") -> Table:
    """A file of one value per line (no header), as a one-column table named `column`."""
    name = os.fspath(path)
    rows = []
    for number, line in enumerate(read_text(name).splitlines(), start=1):
        if len(line) > MAX_FIELD_CHARS:
            raise InputError(f"{name} line {number}: a line longer than {MAX_FIELD_CHARS} characters")
        if line.strip():
            rows.append((number, [line.strip()]))
    return Table(path=name, columns=[column], rows=rows)
