"""Helpers shared by the commands for clean failures."""

from __future__ import annotations

import click


def require_torch() -> None:
    """Raise a one-line click error if PyTorch is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise click.ClickException("this command needs PyTorch: pip install 'scaletol[sesn]'") from None


def require_dask(what: str) -> None:
    """Raise a one-line click error naming `what` if Dask's distributed scheduler is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise click.ClickException(f"{what} needs Dask: pip install 'scaletol[cluster]'") from None


def reject_given(names: list[str], reason: str) -> None:
    """A usage error if any of the current command's parameters `names` came
    from the command line: '--NAME REASON' (e.g. 'applies to --ns auto only')."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    given = [n for n in names if ctx.get_parameter_source(n) is ParameterSource.COMMANDLINE]
    if given:
        options = {p.name: p.opts[0] for p in ctx.command.params}
        raise click.UsageError(f"{', '.join(options[n] for n in given)} {reason}")
