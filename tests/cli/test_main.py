from importlib.metadata import version

from click.testing import CliRunner

from cli.main import main


def test_version_is_the_distribution_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert version("scaletol") in result.output


def test_unknown_command_is_one_line_and_status_2():
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-command" in lines[0]
