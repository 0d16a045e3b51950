"""The typer app and what every command shares: common options, the bad-input exit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reputation.inputs import BadInput
from reputation.render import Format
from reputation.report import EXIT_BAD_INPUT

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Will the big mailbox providers accept mail from this domain and IP? If not, why.\n\n"
    "Exit codes: 0 pass, 1 warn, 2 fail, 3 incomplete (a lookup could not be completed), "
    "64 bad input or usage.",
)

NameserverOption = Annotated[
    list[str] | None,
    typer.Option(
        "--nameserver",
        "-n",
        help="DNS server to ask, HOST, HOST:PORT or [V6]:PORT; repeatable. Default: the system's.",
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", "-t", help="Seconds each DNS query may take.", min=0.01)
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
BlocklistsOption = Annotated[
    Path | None,
    typer.Option("--blocklists", help="A blocklist catalog to use instead of the installed one."),
]
ListsOption = Annotated[
    str | None,
    typer.Option("--lists", help="Query only these blocklists (ids or zones, comma-separated)."),
]
NoRdapOption = Annotated[
    bool, typer.Option("--no-rdap", help="Skip the registration (RDAP) lookup.")
]
RdapUrlOption = Annotated[
    str, typer.Option("--rdap-url", help="RDAP service to ask for registration data.")
]
ProviderOption = Annotated[
    str | None,
    typer.Option("--provider", help="Predict only these providers, e.g. gmail,outlook."),
]
BulkOption = Annotated[
    bool,
    typer.Option(
        "--bulk",
        help="Also apply the bulk-sender rules and requirements (e.g. over 5,000 a day to Gmail).",
    ),
]


def bad_input(message: str) -> typer.Exit:
    typer.echo(f"reputation: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def split_list(text: str | None) -> list[str]:
    """A comma-separated option; given but empty is an error, not "everything"."""
    parts = [part.strip().lower() for part in (text or "").split(",") if part.strip()]
    if text is not None and not parts:
        raise BadInput(f"invalid list {text!r}: name at least one")
    return parts
