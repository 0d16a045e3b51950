"""The `reputation` command: parse, call, render, exit with the verdict's code.

Each command lives in a module of its own; importing it registers it on the app.
"""

from __future__ import annotations

import sys

import typer

# The order of these imports is the order of the commands in --help.
# isort: off
from reputation.cli import check  # noqa: F401
from reputation.cli import message  # noqa: F401
from reputation.cli import bounce  # noqa: F401
from reputation.cli import audit  # noqa: F401
from reputation.cli import catalogs  # noqa: F401

# isort: on
from reputation.cli.app import app
from reputation.report import EXIT_BAD_INPUT

__all__ = ["app", "main"]


def main() -> None:
    _never_fail_on_encoding()
    command = typer.main.get_command(app)
    args = sys.argv[1:] or ["--help"]
    try:
        result = command.main(args=args, prog_name="reputation", standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: unknown flag, missing argument, bad value
        typer.echo(f"reputation: {exc.format_message()}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except typer.Abort:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)


def _never_fail_on_encoding() -> None:
    """A character the terminal cannot show is escaped (\\xff), never a traceback: reports quote
    DNS data and names as typed, whatever the locale or PYTHONIOENCODING."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
