"""`reputation message FILE.eml | -`: judge a received message, then check its sender."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reputation.cli.app import (
    BlocklistsOption,
    BulkOption,
    FormatOption,
    ListsOption,
    NameserverOption,
    NoRdapOption,
    ProviderOption,
    RdapUrlOption,
    TimeoutOption,
    app,
    bad_input,
    split_list,
)
from reputation.context import DEFAULT_RDAP_URL
from reputation.dns.resolver import DEFAULT_TIMEOUT
from reputation.render import Format

if TYPE_CHECKING:
    from reputation.message import MessageFacts
    from reputation.report import Report

EXIT_UNREADABLE = 65  # EX_DATAERR (sysexits.h): the input data was incorrect


@app.command()
def message(
    file: Annotated[str, typer.Argument(help="The message as received (.eml), or - for stdin.")],
    ip: Annotated[
        str | None, typer.Option("--ip", help="The sending IP, if Received does not show it.")
    ] = None,
    helo: Annotated[
        str | None, typer.Option("--helo", help="The HELO name, if Received does not show it.")
    ] = None,
    nameserver: NameserverOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    fmt: FormatOption = Format.TABLE,
    no_rdap: NoRdapOption = False,
    rdap_url: RdapUrlOption = DEFAULT_RDAP_URL,
    provider: ProviderOption = None,
    bulk: BulkOption = False,
    blocklists_file: BlocklistsOption = None,
    lists: ListsOption = None,
) -> None:
    """Judge one received message (DKIM, SPF, DMARC, header requirements), then check the
    sender it came from. The message is read locally and sent nowhere. Exit codes as for
    check; 65 when the data is not a message it can judge."""
    import asyncio

    from reputation.dns.resolver import NoNameserverError
    from reputation.inputs import BadInput
    from reputation.message import UnreadableMessage, reading

    try:
        parsed = _read(file, reading)
        options: dict[str, Any] = {
            "nameservers": nameserver or [],
            "timeout": timeout,
            "rdap": not no_rdap,
            "rdap_url": rdap_url,
            "providers": split_list(provider),
            "bulk": bulk,
            "blocklists_file": blocklists_file,
            "lists": split_list(lists),
        }
        facts, report = asyncio.run(_run(parsed, ip, helo, options))
    except UnreadableMessage as exc:
        typer.echo(f"reputation: {exc}", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from None
    except (BadInput, NoNameserverError) as exc:
        raise bad_input(str(exc)) from None
    typer.echo(_render(facts, report, fmt), nl=False)
    raise typer.Exit(exit_code(facts, report))


def _read(file: str, reading: Any) -> Any:
    from reputation.inputs import BadInput

    if file == "-":
        return reading.read(sys.stdin.buffer)
    path = Path(file)
    if not path.is_file():
        raise BadInput(f"no such file {file!r}")
    with path.open("rb") as stream:
        return reading.read(stream)


async def _run(
    parsed: Any, ip: str | None, helo: str | None, options: dict[str, Any]
) -> tuple[MessageFacts, Report]:
    from reputation.message import envelope, judge
    from reputation.session import Session

    where = envelope(parsed, ip, helo)
    async with Session(**options) as session:
        # Through the session's cache: the check that follows asks nothing twice.
        facts = await judge(
            parsed, where, session.cache, timeout=session.options.timeout, bulk=options["bulk"]
        )
        report = await session.check(
            facts.envelope_domain or facts.from_domain,
            facts.ip,
            facts.helo or None,
            dkim_selectors=facts.selectors,
            from_domain=facts.from_domain,
        )
    return facts, report


def _render(facts: MessageFacts, report: Report, fmt: Format) -> str:
    from reputation.message import render as message_render
    from reputation.render import json_render, render, use_colour

    if fmt is Format.JSON:
        return json_render.dumps({**report.to_dict(), "message": facts.to_dict()}) + "\n"
    section = (
        message_render.markdown(facts) if fmt is Format.MARKDOWN else message_render.table(facts)
    )
    return section + render(report, fmt, use_colour()).rstrip("\n") + "\n"


def exit_code(facts: MessageFacts, report: Report) -> int:
    """The worse of the message's status and the check's verdict, in the check's exit codes."""
    from reputation.message import status

    codes = {"pass": 0, "warn": 1, "fail": 2, "error": 3}
    mine = codes[status(facts)]
    theirs = report.exit_code
    if 2 in (mine, theirs):
        return 2
    if 3 in (mine, theirs):
        return 3
    return max(mine, theirs)
