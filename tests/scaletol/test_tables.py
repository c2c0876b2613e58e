import codecs

import numpy as np
import pytest

from scaletol.checks import InputError
from scaletol.tables import MAX_FIELD_CHARS, parse_number, read_table, read_text, read_values


def write(tmp_path, data, name="table.csv"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_reads_columns_with_file_line_numbers_skipping_blank_lines(tmp_path):
    table = read_table(write(tmp_path, "a, b\n\n1, x\n 2 ,y\n"))
    assert table.columns == ["a", "b"]
    assert table.texts("b") == [(3, "x"), (4, "y")]
    assert table.numbers("a", low=0).tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "data",
    [codecs.BOM_UTF8 + b"scale,id\n1.5,a\n", codecs.BOM_UTF16_LE + "scale,id\n1.5,a\n".encode("utf-16-le")],
)
def test_byte_order_marks_of_excel_files_are_not_part_of_the_first_name(tmp_path, data):
    assert read_table(write(tmp_path, data)).columns == ["scale", "id"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "table.csv is empty"),
        (b"a,b\n1,2\n\x00\x00", "table.csv is a binary file"),
        ("a\ncaf\xe9\n".encode("latin-1"), "table.csv line 2: not UTF-8 text (byte 0xe9)"),
        (b"a,b\n1,2,3\n", "table.csv line 2: 3 fields where the header names 2"),
        (b"a,a\n1,2\n", "column names must be unique"),
        (b"a\n" + b"9" * (MAX_FIELD_CHARS + 1) + b"\n", f"table.csv line 2: a field longer than {MAX_FIELD_CHARS}"),
    ],
)
def test_every_problem_names_the_file(tmp_path, data, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_table(write(tmp_path, data))


def test_missing_files_and_folders_are_named(tmp_path):
    with pytest.raises(InputError, match="absent.csv: no such file"):
        read_text(tmp_path / "absent.csv")
    with pytest.raises(InputError, match="is not a file"):
        read_text(tmp_path)


def test_missing_columns_are_listed_with_those_found(tmp_path):
    table = read_table(write(tmp_path, "a,b\n1,2\n"))
    with pytest.raises(InputError, match=r"missing column\(s\) c, d \(found: a, b\)"):
        table.require("a", "c", "d")


@pytest.mark.parametrize(
    ("text", "bounds", "message"),
    [
        ("oops", {}, "x='oops' must be a finite number"),
        ("nan", {"low": 0.0}, "x='nan' must be a finite number ≥ 0"),
        ("-1", {"low": 0.0, "low_open": True}, "x='-1' must be a finite number > 0"),
        ("12.5", {"low": 0.0, "high": 1.0}, r"x='12.5' must be a finite number in \[0, 1\]"),
        ("2.5", {"integer": True, "low": 1}, "x='2.5' must be an integer ≥ 1"),
    ],
)
def test_numbers_outside_their_bounds_keep_the_text_the_user_wrote(text, bounds, message):
    with pytest.raises(InputError, match=message):
        parse_number("x", text, **bounds)


def test_numbers_within_bounds_are_parsed():
    assert parse_number("x", " 1e-3 ", low=0.0) == 1e-3
    assert parse_number("x", "3", integer=True, low=1, high=5) == 3.0


def test_one_value_per_line(tmp_path):
    table = read_values(write(tmp_path, "1.5\n\n 2 \n", "scales.txt"), column="scale")
    assert table.texts("scale") == [(1, "1.5"), (3, "2")]
    assert np.array_equal(table.numbers("scale", low=0.0), [1.5, 2.0])
