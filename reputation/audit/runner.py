"""Running an audit: targets stream through a bounded queue into N workers sharing one Session;
each finished report is written out at once, and stored and compared with the previous run a
batch at a time.

SIGINT / SIGTERM stop the run: finished targets stay stored, the run is marked interrupted,
and `--resume` carries on with the targets it does not have yet.
"""

from __future__ import annotations

import asyncio
import gc
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from reputation.audit import changes
from reputation.audit.breaker import ListsBreaker
from reputation.audit.encode import ReportEncoder
from reputation.audit.formats import Stats, Writer
from reputation.audit.shard import Shard
from reputation.audit.store import Run, Store
from reputation.audit.targets import AuditTarget, BadLine, Item
from reputation.inputs import BadInput
from reputation.report import Report

# Results are buffered and written (and compared with the previous run) a batch at a time, in
# one transaction and one query for the batch's previous reports: at most FLUSH_EVERY results,
# and never older than FLUSH_SECONDS. Every stop writes what is buffered.
FLUSH_EVERY = 500
FLUSH_SECONDS = 2.0
# An audit allocates a few short-lived objects per DNS question (futures, answers, results),
# about a million a run; with the default 700 the cycle collector ran some 2,000 times and took
# a quarter of the CPU, mostly re-walking the session's cache. Cycles wait a little longer.
GC_YOUNG_THRESHOLD = 20_000


@dataclass
class Audit:
    """One run in progress: where results go and what has been counted."""

    store: Store
    run: Run
    writer: Writer
    stats: Stats = field(default_factory=Stats)
    breaker: ListsBreaker = field(default_factory=ListsBreaker)
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)
    advance: Callable[[], None] = lambda: None
    flush_output: Callable[[], None] = lambda: None
    stopped_by: int | None = None  # the signal that interrupted the run
    _unflushed: int = 0
    _flushed_at: float = field(default_factory=time.monotonic)
    encoder: ReportEncoder = field(default_factory=ReportEncoder)
    # (target key, its report's summary and JSON line), compared with the previous run at the
    # next flush
    _to_compare: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def replay_finished(self) -> int:
        """A resumed run: what it already has counts and is written out, without re-checking."""
        done = 0
        for line in self.store.lines(self.run.id):
            self._count_and_write(json.loads(line), line)  # the line goes out as stored
            done += 1
        return done

    def bad_line(self, line: BadLine | str) -> None:
        self.stats.bad_lines += 1
        self.warn(f"reputation: {line}")

    def finished(self, target: AuditTarget, report: Report) -> None:
        summary, text = self.encoder.encode(report)
        self.store.add_result(self.run.id, target.key, target.tags, summary, text)
        if self.run.previous_run_id is not None:
            self._to_compare.append((target.key, summary, text))
        self._count_and_write(summary, text)
        for zone, why in self.breaker.newly_opened():
            self.stats.stopped_lists[zone] = why
            self.warn(f"reputation: warning: stopped querying {zone} for this run: {why}")
        self._unflushed += 1
        if self._unflushed >= FLUSH_EVERY or (time.monotonic() - self._flushed_at >= FLUSH_SECONDS):
            self.flush()

    def flush(self) -> None:
        """Compare the buffered results with the previous run, then write them and their
        changes in one transaction."""
        if self._to_compare and self.run.previous_run_id is not None:
            batch, self._to_compare = self._to_compare, []
            before = self.store.report_lines(self.run.previous_run_id, [key for key, *_ in batch])
            self.store.add_changes(
                [
                    {"run_id": self.run.id, **change}
                    for key, summary, line in batch
                    for change in changes.between_lines(key, before.get(key), summary, line)
                ]
            )
        self.store.flush()
        self._unflushed = 0
        self._flushed_at = time.monotonic()

    def _count_and_write(self, report: dict[str, Any], text: str = "") -> None:
        self.stats.add(report)
        self.writer.result(report, text)
        self.flush_output()
        self.advance()

    def record_gone(self) -> None:
        """After a complete run: targets of the previous run that this one did not have."""
        if self.run.previous_run_id is None:
            return
        batch = []
        for row in self.store.gone_targets(self.run.id, self.run.previous_run_id):
            batch.append(
                {"run_id": self.run.id, **changes.gone(row.target_key, row.domain, row.ip)}
            )
            if len(batch) >= FLUSH_EVERY:
                self.store.add_changes(batch)
                self.store.flush()
                batch = []
        self.store.add_changes(batch)
        self.store.flush()


Check = Callable[[AuditTarget], Any]  # an awaitable returning a Report


async def run_targets(
    audit: Audit,
    items: Iterator[Item],
    check: Check,
    shard: Shard,
    *,
    concurrency: int,
    skip_done: bool,
) -> None:
    """Check every target of `items` in the shard, `concurrency` at a time, until done or stopped."""
    queue: asyncio.Queue[AuditTarget | None] = asyncio.Queue(maxsize=concurrency * 2)
    seen: set[str] = set()
    # A resumed run: the targets it already has, read in one query.
    done = audit.store.result_keys(audit.run.id) if skip_done else set()

    async def produce() -> None:
        for item in items:
            if isinstance(item, BadLine):
                audit.bad_line(item)
                continue
            if not shard.holds(item.key) or item.key in seen:
                continue
            seen.add(item.key)
            if item.key in done:
                continue
            await queue.put(item)
        for _ in range(concurrency):
            await queue.put(None)

    async def work() -> None:
        while (target := await queue.get()) is not None:
            try:
                report = await check(target)
            except BadInput as exc:
                audit.bad_line(f"{target.domain} {target.ip}: {exc}")
                continue
            except Exception as exc:  # a defect must cost one target, not the run
                audit.stats.check_errors += 1
                audit.warn(f"reputation: {target.domain} {target.ip}: internal error: {exc!r}")
                continue
            audit.finished(target, report)

    tasks = [asyncio.ensure_future(produce())]
    tasks += [asyncio.ensure_future(work()) for _ in range(concurrency)]
    loop = asyncio.get_running_loop()

    def stop(signum: int) -> None:
        audit.stopped_by = signum
        for task in tasks:
            task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        if audit.stopped_by is None:
            raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        for task in tasks:
            task.cancel()
        audit.flush()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect cycles less often while the run lasts (see GC_YOUNG_THRESHOLD)."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], GC_YOUNG_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def progress_bar(
    total: int | None, stream: TextIO
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(advance, close): a rich progress bar on a terminal; nothing otherwise."""
    if not stream.isatty():
        return (lambda: None), (lambda: None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=True,
    )
    task = bar.add_task("auditing", total=total)
    bar.start()
    return (lambda: bar.advance(task)), bar.stop


def elapsed_since(clock: float) -> float:
    return time.monotonic() - clock
