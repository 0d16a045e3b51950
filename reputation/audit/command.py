"""The audit and history commands, behind the CLI: options in, exit code (or text) out."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from reputation import blocklists
from reputation.audit import plan
from reputation.audit.formats import AuditFormat, Batched, writer
from reputation.audit.runner import Audit, fewer_collections, progress_bar, run_targets
from reputation.audit.shard import parse_shard
from reputation.audit.store import Store
from reputation.audit.targets import AuditTarget, read_targets
from reputation.checks import CHECKS
from reputation.inputs import BadInput
from reputation.report import Report
from reputation.session import Session

__all__ = ["AuditFormat", "AuditOptions", "history", "run"]

CHECK_IDS = [module.ID for module in CHECKS] + ["blocklists"]
MAX_HISTORY_ROWS = 1000  # changes in the table; --format jsonl has them all
NOTIFY_BACKOFF = 1.0  # seconds before the first retry; doubled each time


@dataclass
class AuditOptions:
    sources: list[str]
    checks: list[str] | None = None
    concurrency: int = 50
    nameservers: list[str] = field(default_factory=list)
    timeout: float = 5.0
    db: str | None = None
    notify: str | None = None
    notify_tries: int = 4
    fmt: AuditFormat = AuditFormat.TABLE
    resume: bool = False
    shard: str | None = None
    rdap: bool = True
    blocklists_file: Path | None = None
    lists: list[str] = field(default_factory=list)

    def scope(self) -> str:
        """Runs with the same scope are compared with each other and resumed."""
        checks = ",".join(sorted(self.checks)) if self.checks else "all"
        sources = ",".join(s if s == "-" else str(Path(s).resolve()) for s in self.sources)
        return f"{checks}|{parse_shard(self.shard)}|{sources}"[:255]


def run(options: AuditOptions, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    _validate(options)
    shard = parse_shard(options.shard)
    counted = plan.count(options.sources, shard)
    for line in _free_use_warnings(options, counted):
        print(f"reputation: {line}", file=err)
    store = Store(options.db)
    try:
        return _audit(options, store, counted.targets if counted else None, out, err)
    finally:
        store.close()


def _validate(options: AuditOptions) -> None:
    unknown = [c for c in options.checks or [] if c not in CHECK_IDS]
    if unknown:
        raise BadInput(f"unknown check {unknown[0]!r} (known: {', '.join(CHECK_IDS)})")
    if options.notify and not options.notify.startswith(("https://", "http://")):
        raise BadInput(f"invalid notify URL {options.notify!r}: expected https://...")
    for source in options.sources:
        if source != "-" and not Path(source).is_file():
            raise BadInput(f"{source}: no such file")


def _free_use_warnings(options: AuditOptions, counted: plan.Plan | None) -> list[str]:
    if counted is None or (options.checks and "blocklists" not in options.checks):
        return []
    try:
        catalog = blocklists.load_catalog(options.blocklists_file)
        chosen = catalog.select(options.lists) if options.lists else catalog.default()
    except blocklists.CatalogError as exc:
        raise BadInput(str(exc)) from None
    return plan.over_free_use(chosen, counted)


def _audit(options: AuditOptions, store: Store, total: int | None, out: TextIO, err: TextIO) -> int:
    scope = options.scope()
    run_ = store.resume_run(scope) if options.resume else None
    if options.resume and run_ is None:
        print("reputation: nothing to resume: the last run of these targets finished", file=err)
    resumed = run_ is not None
    if run_ is None:
        run_ = store.start_run(scope, str(parse_shard(options.shard)), _recorded(options))
    advance, close_bar = progress_bar(total, err)
    batched = Batched(out)
    audit = Audit(store, run_, writer(options.fmt, batched), warn=lambda s: print(s, file=err))
    audit.flush_output = batched.flush_if_due
    audit.advance = advance
    clock = time.monotonic()
    if resumed:
        audit.replay_finished()
    try:
        with fewer_collections():
            asyncio.run(_check_all(options, audit, resumed))
    finally:
        close_bar()
    audit.stats.duration_s = time.monotonic() - clock
    audit.stats.finished_at = time.time()
    if audit.stopped_by is not None:
        store.finish_run(run_.id, "interrupted")
        _close_output(audit, store, run_.id)
        print(
            f"reputation: interrupted: {store.count_results(run_.id)} targets done and stored;"
            " run again with --resume to check the rest",
            file=err,
        )
        return 128 + audit.stopped_by
    audit.record_gone()
    store.finish_run(run_.id, "finished")
    _close_output(audit, store, run_.id)
    if options.notify:
        _notify(options, store, run_.id, audit.stats.targets, err)
    return audit.stats.exit_code


def _close_output(audit: Audit, store: Store, run_id: int) -> None:
    for row in store.changes(run_id=run_id):
        audit.stats.changes[row["kind"]] += 1
    audit.writer.finish(audit.stats, lambda: store.changes(run_id=run_id))
    audit.writer.out.flush()


def _recorded(options: AuditOptions) -> dict:
    return {
        "sources": options.sources,
        "checks": options.checks,
        "lists": options.lists,
        "nameservers": options.nameservers,
    }


async def _check_all(options: AuditOptions, audit: Audit, resumed: bool) -> None:
    async with Session(
        nameservers=options.nameservers,
        timeout=options.timeout,
        rdap=options.rdap,
        blocklists_file=options.blocklists_file,
        lists=options.lists,
        lists_breaker=audit.breaker,
    ) as session:

        async def check(target: AuditTarget) -> Report:
            return await session.check(target.domain, target.ip, target.helo, checks=options.checks)

        await run_targets(
            audit,
            read_targets(options.sources),
            check,
            parse_shard(options.shard),
            concurrency=options.concurrency,
            skip_done=resumed,
        )


def _notify(options: AuditOptions, store: Store, run_id: int, targets: int, err: TextIO) -> None:
    from reputation.audit import notify  # httpx: loaded only when there is something to post

    tries, backoff = options.notify_tries, NOTIFY_BACKOFF
    for problem in notify.send_pending(store, tries=tries, backoff=backoff):
        print(f"reputation: {problem}", file=err)
    problem = notify.notify_run(
        store, store.run(run_id), options.notify or "", targets, tries=tries, backoff=backoff
    )
    if problem:
        print(f"reputation: {problem}", file=err)


# --- history -----------------------------------------------------------------------------------


def history(db: str | None, since: str | None, target: str | None, fmt: str) -> str:
    since = _since(since)
    store = Store(db)
    try:
        if fmt == "jsonl":
            rows = store.changes(target=target, since=since)
            return "".join(json.dumps(_public(row), ensure_ascii=False) + "\n" for row in rows)
        return _history_table(store, since, target)
    finally:
        store.close()


def _since(text: str | None) -> str | None:
    if text is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise BadInput(f"invalid date {text!r}: expected YYYY-MM-DD") from None


def _public(row: dict) -> dict:
    keys = ("run_id", "started_at", "shard", "domain", "ip", "kind", "subject", "old", "new")
    return {**{k: row[k] for k in keys}, "detail": row["detail"]}


def _history_table(store: Store, since: str | None, target: str | None) -> str:
    from tabulate import tabulate

    buffer = io.StringIO()
    runs = store.runs(since)
    if not runs:
        return "No audit runs stored yet.\n"
    counts: dict[int, int] = {}
    rows = []
    for row in store.changes(target=target, since=since):
        counts[row["run_id"]] = counts.get(row["run_id"], 0) + 1
        if len(rows) >= MAX_HISTORY_ROWS:
            continue
        rows.append(
            [row["started_at"], row["domain"], row["ip"], row["kind"], row["subject"],
             f"{row['old'] or '-'} -> {row['new'] or '-'}"]
        )  # fmt: skip
    buffer.write("Runs:\n")
    table = [
        [r.id, r.started_at, r.finished_at or "-", r.status, r.shard, r.host or "-",
         store.count_results(r.id), counts.get(r.id, 0)]
        for r in runs
    ]  # fmt: skip
    headers = ["run", "started", "finished", "status", "shard", "host", "targets", "changes"]
    buffer.write(tabulate(table, headers))
    buffer.write("\n\n")
    if rows:
        buffer.write("Changes:\n")
        buffer.write(tabulate(rows, ["run started", "domain", "ip", "change", "on", "was -> now"]))
        buffer.write("\n")
        shown = sum(counts.values())
        if shown > len(rows):
            buffer.write(f"... and {shown - len(rows)} more: narrow with --since or --target,")
            buffer.write(" or see them all with --format jsonl\n")
    else:
        buffer.write("No changes" + (f" for {target}" if target else "") + ".\n")
    return buffer.getvalue()
