"""Helpers shared by the commands for clean failures."""

from __future__ import annotations

import click


def require_torch() -> None:
    """Raise a one-line click error if PyTorch is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise click.ClickException("this command needs PyTorch: pip install 'scaletol[sesn]'") from None
