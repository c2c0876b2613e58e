"""The options that several `tolcli` commands share, defined once.

Each function returns a decorator adding its options to a click command; help
texts take their defaults from the library (e.g. `scaletol.datasets`), never
retyped. Loading this module loads neither torch, sesn nor matplotlib, so the
light commands (suggest, fit-tau) can use it too.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from scaletol.checks import InputError
from scaletol.datasets import DATASETS

Decorator = Callable[[Callable], Callable]


def stack(*options: Decorator) -> Decorator:
    """One decorator applying `options`, the first listed topmost in --help."""

    def apply(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def shown(value) -> str:
    """A default as help text: floats to 4 significant digits, tuples space-separated."""
    if isinstance(value, (tuple, list)):
        return " ".join(shown(v) for v in value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def per_dataset(read: Callable) -> str:
    """`read(DatasetInfo)` of every dataset as help text, e.g. '5 dynamic-mnist, 10 mnist-scale'."""
    return ", ".join(f"{shown(read(info))} {name}" for name, info in DATASETS.items())


class NumberList(click.ParamType):
    """Comma-separated numbers of one type, none below `minimum`: e.g. 2,3.46,6
    (float) or 0,1,2 (int)."""

    def __init__(self, kind=float, minimum=None):
        self.kind, self.minimum = kind, minimum
        self.name = "X,Y,..." if kind is float else "N,M,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            values = tuple(self.kind(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of {self.kind.__name__}s", param, ctx)
        if self.minimum is not None and any(v < self.minimum for v in values):
            self.fail(f"{value!r} holds a value below {self.minimum}", param, ctx)
        return values


class FigurePath(click.ParamType):
    """A figure file to write: its folder must exist and its suffix name an
    image format (checked when the options are read, before any work)."""

    name = "FILE"

    def convert(self, value, param, ctx):
        from scaletol.figures import figure_format

        try:
            figure_format(value)
        except InputError as exc:
            self.fail(str(exc), param, ctx)
        return str(value)


def figure_option(flag: str, name: str, help: str) -> Decorator:
    """An optional figure file, e.g. figure_option("--plot", "plot_path", "Also write a figure here.")."""
    return click.option(flag, name, type=FigurePath(), default=None, help=help + " (.png, .pdf, .svg, ...)")


def json_option() -> Decorator:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")


def quiet_option() -> Decorator:
    return click.option("--quiet", is_flag=True, help="No progress bars.")


def data_option() -> Decorator:
    return click.option(
        "--data",
        "data_root",
        type=click.Path(file_okay=False),
        default=None,
        help="Folder with the four MNIST IDX gz files [default: $SCALETOL_DATA].",
    )


def device_option() -> Decorator:
    return click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")


def runtime_options() -> Decorator:
    """--data, --device, --quiet and --json: where the data is and how to run
    and report, none of which changes a result."""
    return stack(data_option(), device_option(), quiet_option(), json_option())


def echo_result(result, as_json: bool) -> None:
    """Print `result.to_dict()` as one JSON object, or `result.report()`."""
    click.echo(json.dumps(result.to_dict()) if as_json else result.report())
