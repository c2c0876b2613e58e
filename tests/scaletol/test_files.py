import os
import stat
from pathlib import Path

import pytest

from scaletol.checks import InputError, MissingFileError
from scaletol.files import atomic_write, atomic_write_text, read_text


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_written_files_get_the_mode_the_umask_allows(tmp_path, umask_027):
    path = atomic_write_text(tmp_path / "report.md", "ok\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_text() == "ok\n"


def test_a_failing_writer_leaves_nothing_behind(tmp_path):
    def broken(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(tmp_path / "out.txt", broken)
    assert list(tmp_path.iterdir()) == []


ROOT = Path(__file__).resolve().parents[2]
HOMES = {"scaletol/files.py", "scaletol/figures.py"}


def test_files_are_written_and_figures_saved_in_one_place_only():
    """Only scaletol.files renames temporary files into place and only
    scaletol.figures calls savefig; everything else goes through them."""
    found = []
    for folder in ("scaletol", "tolerance", "sesn", "cli", "examples", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            text = path.read_text()
            for call in ("os.replace(", "mkstemp(", ".savefig(", "os.rename("):
                if call in text and name not in HOMES:
                    found.append(f"{name}: {call}")
    assert found == []


def test_read_text_names_a_missing_or_unreadable_file(tmp_path):
    with pytest.raises(MissingFileError, match="notes.txt") as caught:
        read_text("notes", tmp_path / "notes.txt")
    assert isinstance(caught.value, FileNotFoundError) and caught.value.filename == str(tmp_path / "notes.txt")
    (tmp_path / "notes.txt").write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(InputError, match="notes.txt.*readable notes file"):
        read_text("notes", tmp_path / "notes.txt")
