import pytest

from scaletol.checks import InputError
from tolerance.textfiles import read_csv, read_text


def test_utf8_text_without_its_byte_order_mark(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffcafé\n".encode())
    assert read_text(path) == "café\n"


def test_text_that_is_not_utf8_is_named_with_the_byte(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.txt: not UTF-8 text \(byte 3 is 0xe9\)"):
        read_text(path)


def test_csv_rows_carry_the_line_they_end_on(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b'\xef\xbb\xbfwidth,note\r\n3,"two\nlines"\r\n5,x\r\n')
    columns, rows = read_csv(path)
    assert columns == ["width", "note"]
    assert rows == [(3, {"width": "3", "note": "two\nlines"}), (4, {"width": "5", "note": "x"})]


def test_an_empty_csv_has_no_columns(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert read_csv(path) == ([], [])
