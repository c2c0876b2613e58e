"""Reading the text files users give: UTF-8 (an Excel byte-order mark is
dropped) and CSV rows with their line numbers; every error is an InputError
that names the file (and line)."""

from __future__ import annotations

import csv
import io
import os

from scaletol.checks import InputError


def read_text(path) -> str:
    """The UTF-8 text of `path` (a byte-order mark is dropped); InputError naming the file otherwise."""
    path = os.fspath(path)
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x})") from None


def read_csv(path) -> tuple[list[str], list[tuple[int, dict]]]:
    """(column names, [(line number, row as a dict)]) of the UTF-8 CSV file `path`.

    InputError naming the file (and line) for text that is not UTF-8 or not CSV
    (e.g. a field longer than the csv module's limit of 131 072 characters).
    """
    path = os.fspath(path)
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    try:
        columns = list(reader.fieldnames or [])
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise InputError(f"{path} line {reader.line_num + 1}: not valid CSV ({exc})") from None
    return columns, rows
