"""The `reputation` command: parse, call, render, exit with the verdict's code.

Each command lives in a module of its own; importing it registers it on the app. A run imports
only the module of the command it runs, so `reputation check` does not pay for the others'
options and imports; `reputation --help` and an unknown command load them all. Everything,
typer included, is imported inside main(), while the garbage collector is off (see there).
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["COMMANDS", "load_commands", "main"]

# Each command and the module (reputation.cli.<module>) that registers it, in --help order.
COMMANDS = {
    "check": "check",
    "spf": "spf",
    "message": "message",
    "bounce": "bounce",
    "audit": "audit",
    "history": "audit",
    "lists": "catalogs",
    "providers": "catalogs",
    "demo": "catalogs",
}


def main() -> None:
    _never_fail_on_encoding()
    args = sys.argv[1:] or ["--help"]
    # Imports make long-lived objects, not garbage: the cyclic collector is not run while they
    # do (about 8 ms of a one-off run), and the run's own collections then skip what they made.
    gc.disable()
    try:
        import typer

        from reputation.cli.app import app
        from reputation.report import EXIT_BAD_INPUT

        load_commands(args)
        gc.freeze()
    finally:
        gc.enable()
    command = typer.main.get_group(app)
    try:
        result = command.main(args=args, prog_name="reputation", standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: unknown flag, missing argument, bad value
        typer.echo(f"reputation: {exc.format_message()}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except typer.Abort:
        sys.exit(130)
    _exit(result if isinstance(result, int) else 0)


def load_commands(args: Sequence[str] = ()) -> None:
    """Register the command `args` names, or every command when it names none we know."""
    named = COMMANDS.get(args[0]) if args else None
    for module in [named] if named else dict.fromkeys(COMMANDS.values()):
        importlib.import_module(f"reputation.cli.{module}")


def _exit(code: int) -> NoReturn:
    """End the process once the command is done. Its shutdown would otherwise run the cyclic
    garbage collector over every object the imports and the run made (about 25 ms of a one-off
    check); frozen, they are skipped, and the memory goes back with the process anyway. Exit
    handlers still run and the output streams are still flushed."""
    gc.freeze()
    sys.exit(code)


def _never_fail_on_encoding() -> None:
    """A character the terminal cannot show is escaped (\\xff), never a traceback: reports quote
    DNS data and names as typed, whatever the locale or PYTHONIOENCODING."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
