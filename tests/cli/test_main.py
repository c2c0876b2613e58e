import sys
import types
from importlib.metadata import version

import click
from click.testing import CliRunner

from cli.main import main
from scaletol.checks import InputError


def test_version_is_the_distribution_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert version("scaletol") in result.output


def test_unknown_command_is_one_line_and_status_2():
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-command" in lines[0]


def test_a_bug_shows_its_traceback_and_asks_for_a_report(monkeypatch):
    import cli.main as entry

    @click.command()
    def broken():
        raise KeyError("an internal key")  # not bad input: a bug

    monkeypatch.setitem(entry.COMMANDS, "broken", "tests_broken:broken")
    monkeypatch.setitem(sys.modules, "tests_broken", types.SimpleNamespace(broken=broken))
    monkeypatch.setattr(entry, "_available", lambda name: True)
    result = CliRunner().invoke(main, ["broken"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "KeyError: 'an internal key'" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("tolcli: this is a bug") and "report" in last


def test_an_input_error_is_one_line_and_status_2(monkeypatch):
    import cli.main as entry

    @click.command()
    def picky():
        raise InputError("ns=0 must be an integer ≥ 1")

    monkeypatch.setitem(entry.COMMANDS, "picky", "tests_picky:picky")
    monkeypatch.setitem(sys.modules, "tests_picky", types.SimpleNamespace(picky=picky))
    monkeypatch.setattr(entry, "_available", lambda name: True)
    result = CliRunner().invoke(main, ["picky"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["tolcli: error: ns=0 must be an integer ≥ 1"]
