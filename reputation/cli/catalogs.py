"""`reputation lists`, `providers` and `demo`: what the tool knows, and a world to try it on."""

from __future__ import annotations

from typing import Annotated

import typer

from reputation import engine
from reputation.cli.app import (
    BlocklistsOption,
    FormatOption,
    NameserverOption,
    TimeoutOption,
    app,
    bad_input,
)
from reputation.dns.resolver import DEFAULT_TIMEOUT, NoNameserverError
from reputation.inputs import BadInput
from reputation.render import Format, use_colour


@app.command("lists")
def list_blocklists(
    fmt: FormatOption = Format.TABLE,
    health: Annotated[
        bool, typer.Option("--health", help="Query each list's RFC 5782 test points.")
    ] = False,
    nameserver: NameserverOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    blocklists_file: BlocklistsOption = None,
    every: Annotated[
        bool,
        typer.Option("--all", help="With --health: test every active list, not only the defaults."),
    ] = False,
) -> None:
    """Print the blocklist catalog, or (--health) which lists work from this resolver."""
    from reputation import blocklists
    from reputation.render import catalog

    try:
        found = blocklists.load_catalog(blocklists_file)
        if not health:
            typer.echo(catalog.blocklists(found.lists, fmt))
            return
        chosen = [b for b in found.lists if not b.retired] if every else found.default()
        results = engine.list_health(chosen, nameserver or [], timeout)
    except (BadInput, blocklists.CatalogError, NoNameserverError) as exc:
        raise bad_input(str(exc)) from None
    typer.echo(catalog.health(results, fmt))
    raise typer.Exit(0 if all(r.status in ("ok", "untestable") for r in results) else 1)


@app.command("providers")
def list_providers(
    fmt: FormatOption = Format.TABLE,
    rules: Annotated[bool, typer.Option("--rules", help="List every rule.")] = False,
) -> None:
    """List the mailbox providers and the rules that predict their verdicts."""
    from reputation.providers import load_providers
    from reputation.render import catalog

    typer.echo(catalog.providers(load_providers(), fmt, rules))


@app.command()
def demo(
    fmt: FormatOption = Format.TABLE,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Keep the sample DNS world running to try checks against."),
    ] = False,
) -> None:
    """Run checks against a built-in sample world on a local DNS server (no network needed)."""
    from reputation import demo as sample

    sample.run(fmt, use_colour(), serve)
