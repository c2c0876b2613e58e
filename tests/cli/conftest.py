"""Fixtures of the tolcli tests: a fake MNIST named by $SCALETOL_DATA and in-process tolcli runs."""

import pytest
from click.testing import CliRunner

from cli.main import main


@pytest.fixture
def data_dir(fake_mnist, monkeypatch):
    """A fake MNIST of 48 + 16 digits, named by $SCALETOL_DATA."""
    directory = fake_mnist(48, 16)
    monkeypatch.setenv("SCALETOL_DATA", str(directory))
    return directory


@pytest.fixture
def tolcli():
    """tolcli(*args) → the click Result of running tolcli in-process."""
    return lambda *args: CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def one_line_error():
    """one_line_error(result, *fragments): exit status 2 and one stderr line
    'tolcli: error: ...' holding every fragment."""

    def check(result, *fragments):
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tolcli: error:"), result.stderr
        assert all(f in lines[0] for f in fragments), lines[0]

    return check
