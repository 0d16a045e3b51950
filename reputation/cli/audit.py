"""`reputation audit` (many senders, one run, stored) and `reputation history` (what changed)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from reputation.cli.app import (
    BlocklistsOption,
    ListsOption,
    NameserverOption,
    NoRdapOption,
    TimeoutOption,
    app,
    bad_input,
    split_list,
)
from reputation.dns.resolver import DEFAULT_TIMEOUT
from reputation.inputs import BadInput

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="History database: sqlite:///PATH, a file path, or postgresql://USER@HOST/DB."
        " Default: $XDG_STATE_HOME/reputation/history.db (~/.local/state/reputation/).",
    ),
]


class AuditFormatChoice(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"
    CSV = "csv"
    NAGIOS = "nagios"
    PROMETHEUS = "prometheus"


class HistoryFormat(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"


@app.command()
def audit(
    targets: Annotated[
        list[str],
        typer.Argument(
            help="Target files: CSV with header domain,ip[,helo][,tags], TOML [[target]] tables,"
            " or lines 'domain ip [helo]'; '-' reads standard input. An ip may be a CIDR range."
        ),
    ],
    only: Annotated[
        str | None,
        typer.Option("--only", help="Run only these checks, e.g. blocklists or helo_ptr,spf."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Targets checked at once.", min=1, max=1000)
    ] = 50,
    nameserver: NameserverOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    db: DbOption = None,
    notify: Annotated[
        str | None,
        typer.Option("--notify", help="Webhook URL to POST a JSON summary of changes to."),
    ] = None,
    notify_retries: Annotated[
        int, typer.Option("--notify-retries", help="Retries of a failed post.", min=0, max=10)
    ] = 3,
    fmt: Annotated[
        AuditFormatChoice, typer.Option("--format", "-f", help="Output format.")
    ] = AuditFormatChoice.TABLE,
    resume: Annotated[
        bool, typer.Option("--resume", help="Carry on with an interrupted run.")
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option("--shard", help="K/N: check only this host's deterministic 1/N share."),
    ] = None,
    no_rdap: NoRdapOption = False,
    blocklists_file: BlocklistsOption = None,
    lists: ListsOption = None,
) -> None:
    """Check many senders in one run, store it, and show what changed since the last one."""
    from reputation.audit import command

    try:
        options = command.AuditOptions(
            sources=targets,
            checks=split_list(only) or None,
            concurrency=concurrency,
            nameservers=nameserver or [],
            timeout=timeout,
            db=db,
            notify=notify,
            notify_tries=notify_retries + 1,
            fmt=command.AuditFormat(fmt.value),
            resume=resume,
            shard=shard,
            rdap=not no_rdap,
            blocklists_file=blocklists_file,
            lists=split_list(lists),
        )
        code = command.run(options)
    except BadInput as exc:
        raise bad_input(str(exc)) from None
    raise typer.Exit(code)


@app.command()
def history(
    since: Annotated[
        str | None, typer.Option("--since", help="Only runs started on or after DATE (YYYY-MM-DD).")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Only changes of this domain or IP.")
    ] = None,
    db: DbOption = None,
    fmt: Annotated[
        HistoryFormat, typer.Option("--format", "-f", help="Output format.")
    ] = HistoryFormat.TABLE,
) -> None:
    """What changed between audit runs: listings, checks, provider verdicts, targets."""
    from reputation.audit import command

    try:
        typer.echo(command.history(db, since, target, fmt.value), nl=False)
    except BadInput as exc:
        raise bad_input(str(exc)) from None
