"""`reputation check`: one sender, checked."""

from __future__ import annotations

from typing import Annotated

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
from reputation.dns.resolver import DEFAULT_TIMEOUT, NoNameserverError
from reputation.inputs import BadInput
from reputation.render import Format, render, use_colour


@app.command()
def check(
    domain: Annotated[str, typer.Argument(help="The sender domain (IDN allowed).")],
    ip: Annotated[str, typer.Argument(help="The sending IP address, IPv4 or IPv6.")],
    helo: Annotated[
        str | None, typer.Option("--helo", help="The name the server greets with (HELO/EHLO).")
    ] = None,
    from_domain: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="The From domain, when DOMAIN is the envelope (bounce) domain: SPF judges "
            "DOMAIN, DMARC and DKIM judge this one.",
        ),
    ] = None,
    nameserver: NameserverOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    fmt: FormatOption = Format.TABLE,
    no_rdap: NoRdapOption = False,
    rdap_url: RdapUrlOption = DEFAULT_RDAP_URL,
    dkim_selector: Annotated[
        list[str] | None,
        typer.Option("--dkim-selector", help="A DKIM selector of yours to probe; repeatable."),
    ] = None,
    provider: ProviderOption = None,
    bulk: BulkOption = False,
    blocklists_file: BlocklistsOption = None,
    lists: ListsOption = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            help="Run only these checks (ids, and 'blocklists'), comma-separated; "
            "the others are reported as not requested.",
        ),
    ] = None,
) -> None:
    """Check that DOMAIN may send mail from IP: the sending preconditions, over real DNS."""
    from reputation.session import check as check_sender

    try:
        report = check_sender(
            domain,
            ip,
            helo,
            checks=split_list(only) if only is not None else None,
            nameservers=nameserver or [],
            timeout=timeout,
            rdap=not no_rdap,
            rdap_url=rdap_url,
            dkim_selectors=dkim_selector or [],
            from_domain=from_domain,
            providers=split_list(provider),
            bulk=bulk,
            blocklists_file=blocklists_file,
            lists=split_list(lists),
        )
    except (BadInput, NoNameserverError) as exc:
        raise bad_input(str(exc)) from None
    typer.echo(render(report, fmt, use_colour()))
    raise typer.Exit(report.exit_code)
