"""Answers shared by every check of a Session: reused within their TTL, bounded in memory.

Two layers sit in front of the resolver's query interface:

- `AnswerCache`, one per session: definitive answers (records, NXDOMAIN, no data) are kept
  until their TTL runs out, the least recently used dropped beyond `max_entries`; identical
  questions in flight at once share one query. A failed lookup (timeout, SERVFAIL, REFUSED)
  is never kept: the next check asks again.
- `RunResolver`, one per check: every question gets one answer for the whole check, failures
  included, so two checks of one report never disagree about the same name.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from reputation.dns.resolver import Answer, display_name

DEFAULT_MAX_ENTRIES = 20_000
# Used when an answer carries no TTL; and no answer is kept longer than MAX_TTL.
DEFAULT_TTL = 300.0
MAX_TTL = 3600.0

Key = tuple[str, str]


class Querier(Protocol):
    """What checks ask DNS through: the Resolver, the cache and the per-check view alike."""

    async def query(self, name: str, rdtype: str) -> Answer: ...


def question_key(name: str, rdtype: str) -> Key:
    return display_name(name).lower(), rdtype.upper()


@dataclass
class _Kept:
    answer: Answer
    expires: float


class AnswerCache:
    """A TTL-bounded, size-bounded answer cache in front of `upstream` (see module doc)."""

    def __init__(
        self,
        upstream: Querier,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        default_ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.upstream = upstream
        self.max_entries = max_entries
        self.default_ttl = default_ttl
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self._kept: OrderedDict[Key, _Kept] = OrderedDict()
        self._asking: dict[Key, asyncio.Task[Answer]] = {}

    def __len__(self) -> int:
        return len(self._kept)

    async def query(self, name: str, rdtype: str) -> Answer:
        key = question_key(name, rdtype)
        kept = self._fresh(key)
        if kept is not None:
            self.hits += 1
            return kept
        task = self._asking.get(key)
        if task is None:
            self.misses += 1
            task = asyncio.ensure_future(self._ask(key))
            self._asking[key] = task
        # shield: one check giving up must not cancel the answer other checks wait for.
        return await asyncio.shield(task)

    def _fresh(self, key: Key) -> Answer | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        if kept.expires <= self.clock():
            del self._kept[key]
            return None
        self._kept.move_to_end(key)
        return kept.answer

    async def _ask(self, key: Key) -> Answer:
        try:
            answer = await self.upstream.query(*key)
        finally:
            self._asking.pop(key, None)
        if not answer.unverified:
            self._keep(key, answer)
        return answer

    def _keep(self, key: Key, answer: Answer) -> None:
        ttl = answer.ttl
        lifetime = min(float(ttl) if ttl is not None else self.default_ttl, MAX_TTL)
        if lifetime <= 0:
            return
        self._kept[key] = _Kept(answer, self.clock() + lifetime)
        self._kept.move_to_end(key)
        while len(self._kept) > self.max_entries:
            self._kept.popitem(last=False)

    def for_run(self) -> RunResolver:
        return RunResolver(self)

    async def aclose(self) -> None:
        """Cancel the questions still in flight, so none outlives the session."""
        await _cancel(list(self._asking.values()))


class RunResolver:
    """One check's view of the shared cache: each question answered once for the whole check.

    No task per question: the first asker awaits the shared cache itself and hands its answer
    to the others through a future (shielded, so one waiter giving up cancels nothing).
    """

    def __init__(self, shared: Querier) -> None:
        self.shared = shared
        self._memo: dict[Key, Answer | asyncio.Future[Answer]] = {}

    async def query(self, name: str, rdtype: str) -> Answer:
        key = question_key(name, rdtype)
        known = self._memo.get(key)
        if isinstance(known, Answer):
            return known
        if known is not None:
            return await asyncio.shield(known)
        waiting: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._memo[key] = waiting
        try:
            answer = await self.shared.query(*key)
        except BaseException as exc:
            del self._memo[key]
            if isinstance(exc, asyncio.CancelledError):
                waiting.cancel()
            else:
                waiting.set_exception(exc)
                waiting.exception()  # retrieved here: no "never retrieved" warning
            raise
        self._memo[key] = answer
        waiting.set_result(answer)
        return answer

    async def aclose(self) -> None:
        """Stop waiting for what is still in flight (after a deadline)."""
        for known in self._memo.values():
            if isinstance(known, asyncio.Future) and not known.done():
                known.cancel()


async def _cancel(tasks: list[asyncio.Task[Answer]]) -> None:
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
