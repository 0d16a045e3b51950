"""The `reputation` command: parse, call, render, exit with the verdict's code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from reputation import engine
from reputation.context import DEFAULT_RDAP_URL
from reputation.inputs import BadInput
from reputation.render import Format, render, use_colour
from reputation.report import EXIT_BAD_INPUT
from reputation.resolver import DEFAULT_TIMEOUT, NoNameserverError

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


def bad_input(message: str) -> typer.Exit:
    typer.echo(f"reputation: {message}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


@app.command()
def check(
    domain: Annotated[str, typer.Argument(help="The sender domain (IDN allowed).")],
    ip: Annotated[str, typer.Argument(help="The sending IP address, IPv4 or IPv6.")],
    helo: Annotated[
        str | None, typer.Option("--helo", help="The name the server greets with (HELO/EHLO).")
    ] = None,
    nameserver: NameserverOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    fmt: FormatOption = Format.TABLE,
    no_rdap: Annotated[
        bool, typer.Option("--no-rdap", help="Skip the registration (RDAP) lookup.")
    ] = False,
    rdap_url: Annotated[
        str, typer.Option("--rdap-url", help="RDAP service to ask for registration data.")
    ] = DEFAULT_RDAP_URL,
    dkim_selector: Annotated[
        list[str] | None,
        typer.Option("--dkim-selector", help="A DKIM selector of yours to probe; repeatable."),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option("--provider", help="Predict only these providers, e.g. gmail,outlook."),
    ] = None,
    bulk: Annotated[
        bool,
        typer.Option(
            "--bulk", help="Also apply bulk-sender rules (e.g. over 5,000 a day to Gmail)."
        ),
    ] = False,
    blocklists_file: BlocklistsOption = None,
    lists: Annotated[
        str | None,
        typer.Option(
            "--lists", help="Query only these blocklists (ids or zones, comma-separated)."
        ),
    ] = None,
) -> None:
    """Check that DOMAIN may send mail from IP: the sending preconditions, over real DNS."""
    try:
        report = engine.check(
            domain,
            ip,
            helo,
            nameservers=nameserver or [],
            timeout=timeout,
            rdap=not no_rdap,
            rdap_url=rdap_url,
            dkim_selectors=dkim_selector or [],
            providers=split_list(provider),
            bulk=bulk,
            blocklists_file=blocklists_file,
            lists=split_list(lists),
        )
    except (BadInput, NoNameserverError) as exc:
        raise bad_input(str(exc)) from None
    typer.echo(render(report, fmt, use_colour()))
    raise typer.Exit(report.exit_code)


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


def split_list(text: str | None) -> list[str]:
    """A comma-separated option; given but empty is an error, not "everything"."""
    parts = [part.strip().lower() for part in (text or "").split(",") if part.strip()]
    if text is not None and not parts:
        raise BadInput(f"invalid list {text!r}: name at least one")
    return parts


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


def main() -> None:
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
