"""Entry point of `tolcli`.

Subcommands are imported only when invoked, so `tolcli suggest` never pays for
torch or matplotlib. Bad input anywhere ends in one line on stderr and exit
status 2 (set TOLCLI_DEBUG=1 to see the traceback instead); any other
exception is a bug: its traceback, a line asking to report it, exit status 1.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import metadata, version
from typing import Any, NoReturn

import click

from scaletol.checks import InputError

# command name -> "module:attribute" of the click command implementing it
COMMANDS = {
    "suggest": "cli.suggest:suggest",
    "fit-tau": "cli.fit_tau:fit_tau",
    "data": "cli.data:data",
    "train": "cli.train:train",
    "evaluate": "cli.evaluate:evaluate",
    "sweep": "cli.sweep:sweep",
    "validate": "cli.validate:validate",
}

# Exceptions that mean "the user asked for something impossible"; any other is a bug.
USER_ERRORS = (InputError, click.ClickException)


class LazyGroup(click.Group):
    """A click group that imports each subcommand on first use and turns bad
    input into a one-line message with exit status 2."""

    def list_commands(self, ctx):
        return sorted(name for name in COMMANDS if _available(name))

    def get_command(self, ctx, name):
        if name not in COMMANDS or not _available(name):
            return None
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> NoReturn:
        """Run the command and exit with its status (always standalone)."""
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("tolcli: aborted", err=True)
            sys.exit(130)
        except USER_ERRORS as exc:
            if os.environ.get("TOLCLI_DEBUG"):
                raise
            sys.exit(_fail(exc))
        except Exception:
            traceback.print_exc()
            click.echo(f"tolcli: this is a bug in scaletol {version('scaletol')}; {_report_request()}", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _available(name: str) -> bool:
    module = COMMANDS[name].split(":")[0]
    return importlib.util.find_spec(module) is not None


def _report_request() -> str:
    """Where to report a bug: the Issues URL of the package metadata."""
    for entry in metadata("scaletol").get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("issues", "bug tracker"):
            return f"please report it, with the traceback above, at {url.strip()}"
    return "please report it, with the traceback above, at the project's issue tracker"


def _fail(exc: BaseException) -> int:
    """Print `exc` as one line on stderr; return the exit status."""
    if isinstance(exc, click.ClickException):
        message = exc.format_message()
        status = exc.exit_code if isinstance(exc, click.UsageError) else 2
    else:
        message, status = str(exc), 2
    click.echo("tolcli: error: " + " ".join(message.split()), err=True)
    return status


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scaletol", prog_name="tolcli")  # metadata read only for --version
def main():
    """Choose and learn the internal scales of scale-equivariant CNNs.

    Scales are magnification factors of the data (1 = reference size); the
    tolerance model works on their log2 (octaves).
    """
