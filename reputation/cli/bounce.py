"""`reputation bounce`: read bounce messages, name the cause, and optionally re-check the sender."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from reputation.cli.app import (
    FormatOption,
    NameserverOption,
    NoRdapOption,
    TimeoutOption,
    app,
    bad_input,
)
from reputation.dns.resolver import DEFAULT_TIMEOUT
from reputation.render import Format

EXIT_UNREADABLE = 65  # EX_DATAERR (sysexits.h): some input could not be read


@app.command()
def bounce(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Message files (.eml), mbox files, maildir or plain folders; - = stdin."
        ),
    ],
    check: Annotated[
        bool,
        typer.Option("--check", help="Re-run the checks each sender-side cause points at."),
    ] = False,
    ip: Annotated[
        str | None, typer.Option("--ip", help="The sending IP (default: found in the bounce).")
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain", help="The sender domain (default: the returned message's sender)."
        ),
    ] = None,
    nameserver: NameserverOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    no_rdap: NoRdapOption = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Read bounces (DSNs, free-text bounces), auto-replies and feedback reports: who failed, why,
    whose fault it is and what to fix. Exit 0 all read, 65 some unreadable, 64 bad usage."""
    import asyncio

    from reputation.bounce.analyse import analyse
    from reputation.bounce.model import Sender
    from reputation.bounce.reading import read_paths
    from reputation.bounce.render import render
    from reputation.dns.resolver import NoNameserverError
    from reputation.inputs import BadInput, parse_domain, parse_ip
    from reputation.session import Session

    try:
        override = Sender(
            domain=parse_domain(domain).ascii if domain else "",
            ip=str(parse_ip(ip)) if ip else "",
        )
    except BadInput as exc:
        raise bad_input(str(exc)) from None
    results = [analyse(item) for item in read_paths(paths, sys.stdin.buffer)]
    if check:
        from reputation.bounce.recheck import recheck

        async def run() -> list[str]:
            async with Session(
                nameservers=nameserver or [], timeout=timeout, rdap=not no_rdap
            ) as session:
                return await recheck(results, override, session)

        try:
            for problem in asyncio.run(run()):
                typer.echo(f"reputation: {problem}", err=True)
        except (BadInput, NoNameserverError) as exc:
            raise bad_input(str(exc)) from None
    for result in results:
        if result.error:
            typer.echo(f"reputation: {result.file}: {result.error}", err=True)
    typer.echo(render(results, fmt.value))
    raise typer.Exit(EXIT_UNREADABLE if any(r.error for r in results) else 0)
