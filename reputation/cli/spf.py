"""`reputation spf`: the SPF evaluation for one IP, explained step by step."""

from __future__ import annotations

from typing import Annotated

import typer

from reputation.cli.app import FormatOption, NameserverOption, TimeoutOption, app, bad_input
from reputation.dns.resolver import DEFAULT_TIMEOUT, NoNameserverError
from reputation.inputs import BadInput
from reputation.render import Format


@app.command("spf")
def explain_spf(
    ip: Annotated[str, typer.Argument(help="The sending IP address.")],
    sender: Annotated[
        str | None,
        typer.Option(
            "--sender", help="MAIL FROM address or domain; empty or absent: the HELO identity."
        ),
    ] = None,
    helo: Annotated[str | None, typer.Option("--helo", help="The HELO/EHLO name.")] = None,
    nameserver: NameserverOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Explain, step by step, the SPF evaluation for IP (RFC 7208)."""
    from reputation import engine
    from reputation.render import spf_explain

    try:
        result = engine.explain_spf(ip, sender, helo, nameserver or [], timeout)
    except (BadInput, NoNameserverError) as exc:
        raise bad_input(str(exc)) from None
    typer.echo(spf_explain.render(result, fmt))
    raise typer.Exit(SPF_EXIT_CODES[str(result.result)])


SPF_EXIT_CODES = {
    "pass": 0,
    "softfail": 1,
    "neutral": 1,
    "none": 1,
    "fail": 2,
    "permerror": 2,
    "temperror": 3,
}
