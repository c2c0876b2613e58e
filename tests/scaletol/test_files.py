import os
import stat

import pytest

from scaletol.files import atomic_write, atomic_write_text


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
