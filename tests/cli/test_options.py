"""The options several commands share are defined once, in cli/options.py."""

import click
import pytest

from cli import options
from cli.data import make, preview
from cli.evaluate import evaluate
from cli.sweep import sweep
from cli.train import train
from cli.validate import validate

RUNNERS = [train, sweep, evaluate]


def option(command: click.Command, name: str) -> click.Parameter:
    [found] = [p for p in command.params if p.name == name]
    return found


def reference(name: str) -> click.Parameter:
    decorated = options.runtime_options()(click.command()(lambda **kw: None))
    return option(decorated, name)


@pytest.mark.parametrize("name", ["data_root", "device", "quiet", "as_json"])
@pytest.mark.parametrize("command", RUNNERS, ids=lambda c: c.name)
def test_runtime_options_are_the_shared_ones(command, name):
    mine, shared = option(command, name), reference(name)
    assert (mine.opts, mine.help, mine.default, type(mine.type)) == (
        shared.opts,
        shared.help,
        shared.default,
        type(shared.type),
    )


def test_data_commands_share_data_and_json():
    for command in (make, preview):
        assert option(command, "data_root").help == reference("data_root").help
    assert option(make, "as_json").help == reference("as_json").help
    assert option(validate, "as_json").help == reference("as_json").help


def test_figure_paths_are_checked_when_the_options_are_read(tmp_path):
    assert isinstance(option(validate, "fig3").type, options.FigurePath)
    assert isinstance(option(preview, "out").type, options.FigurePath)
    kind = options.FigurePath()
    assert kind.convert(str(tmp_path / "f.pdf"), None, None) == str(tmp_path / "f.pdf")
    with pytest.raises(click.BadParameter, match="does not exist"):
        kind.convert(str(tmp_path / "no" / "f.png"), None, None)
    with pytest.raises(click.BadParameter, match="image format"):
        kind.convert(str(tmp_path / "f.txt"), None, None)


def test_shown_defaults():
    assert options.shown((2**-0.5, 2**3.5)) == "0.7071 11.31"
    assert options.shown(0.005) == "0.005" and options.shown(10) == "10"


def test_training_options_become_config_fields():
    from click.testing import CliRunner

    from cli.train import config_changes, config_options

    seen = {}

    @click.command()
    @config_options()
    def probe(**given):
        seen.update(config_changes(given, base_sizes=(100, 50, 60)))

    assert CliRunner().invoke(probe, ["--fixed-sigma", "--limit-val", "7", "--lr", "0.5"]).exit_code == 0
    assert seen == {"learn_sigma": False, "sizes": (100, 7, 60), "lr": 0.5}
