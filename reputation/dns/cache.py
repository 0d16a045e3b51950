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
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, Protocol

from reputation.dns.resolver import Answer, question_key

DEFAULT_MAX_ENTRIES = 20_000
# Used when an answer carries no TTL; and no answer is kept longer than MAX_TTL.
DEFAULT_TTL = 300.0
MAX_TTL = 3600.0

Key = tuple[str, str]


class Querier(Protocol):
    """What checks ask DNS through: the Resolver, the cache and the per-check view alike."""

    async def query(self, name: str, rdtype: str) -> Answer: ...


async def query_many(resolver: Querier, questions: Sequence[Key]) -> list[Answer]:
    """Many answers at once, in order. Every querier of this package has `query_many` (one
    future for the batch); a resolver a user gives a Session need only have `query`."""
    many = getattr(resolver, "query_many", None)
    if many is not None:
        return await many(questions)
    return list(await asyncio.gather(*(resolver.query(*q) for q in questions)))


class _Kept(NamedTuple):
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
        self._asking = InFlight()

    def __len__(self) -> int:
        return len(self._kept)

    async def query(self, name: str, rdtype: str) -> Answer:
        key = question_key(name, rdtype)
        kept = self._fresh(key)
        if kept is not None:
            self.hits += 1
            return kept
        return await self._asking.ask(key, self._ask)

    async def query_many(self, questions: Sequence[Key]) -> list[Answer]:
        """Many questions, in order; those not kept go upstream together in one batch."""
        keys = [question_key(name, rdtype) for name, rdtype in questions]
        answers: list[Answer | None] = [self._fresh(key) for key in keys]
        missing = [index for index, answer in enumerate(answers) if answer is None]
        self.hits += len(keys) - len(missing)
        if missing:
            self.misses += len(missing)
            # Questions another asker has in flight are shared by the resolver's own memo.
            fetched = await query_many(self.upstream, [keys[i] for i in missing])
            for index, answer in zip(missing, fetched, strict=True):
                answers[index] = answer
                if not answer.unverified:
                    self._keep(keys[index], answer)
        return answers  # type: ignore[return-value]

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
        kept = self._fresh(key)  # kept by an asker that finished while this one queued
        if kept is not None:
            self.hits += 1
            return kept
        self.misses += 1
        answer = await self.upstream.query(*key)
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
        """Nothing to release: no task outlives the check that asked (see InFlight)."""


class RunResolver:
    """One check's view of the shared cache: each question answered once for the whole check."""

    def __init__(self, shared: Querier) -> None:
        self.shared = shared
        self._answers: dict[Key, Answer] = {}
        self._asking = InFlight()

    async def query(self, name: str, rdtype: str) -> Answer:
        key = question_key(name, rdtype)
        known = self._answers.get(key)
        if known is None:
            known = self._answers.setdefault(key, await self._asking.ask(key, self._ask))
        return known

    async def _ask(self, key: Key) -> Answer:
        return self._answers.get(key) or await self.shared.query(*key)

    async def query_many(self, questions: Sequence[Key]) -> list[Answer]:
        """Many questions, in order; each keeps the one answer this check gives it."""
        keys = [question_key(*q) for q in questions]
        missing = [key for key in dict.fromkeys(keys) if key not in self._answers]
        alone = [key for key in missing if self._asking.busy(key)]
        together = [key for key in missing if not self._asking.busy(key)]
        if together:
            fetched = await query_many(self.shared, together)
            for key, answer in zip(together, fetched, strict=True):
                self._answers.setdefault(key, answer)
        for key in alone:  # asked by this check already, one at a time: share that answer
            await self.query(*key)
        return [self._answers[key] for key in keys]

    async def aclose(self) -> None:
        """Nothing to release: the check's own tasks are what wait (see InFlight)."""


class InFlight:
    """Concurrent askers of one question share the first asker's await: no task per question.

    The first asker fetches and hands its answer to the others through a future they wait on
    shielded, so one waiter giving up cancels nothing. If the first asker is itself cancelled
    (its check ran out of time), a waiter that was not cancelled asks again on its own.
    """

    def __init__(self) -> None:
        self._waiting: dict[Key, asyncio.Future[Answer]] = {}

    def busy(self, key: Key) -> bool:
        return key in self._waiting

    async def ask(self, key: Key, fetch: Callable[[Key], Awaitable[Answer]]) -> Answer:
        while (waiting := self._waiting.get(key)) is not None:
            try:
                return await asyncio.shield(waiting)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not waiting.cancelled() or (current is not None and current.cancelling()):
                    raise
        waiting = asyncio.get_running_loop().create_future()
        self._waiting[key] = waiting
        try:
            answer = await fetch(key)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                waiting.cancel()
            else:
                waiting.set_exception(exc)
                waiting.exception()  # retrieved: the waiters re-raise it, nobody must log it
            raise
        finally:
            del self._waiting[key]
        waiting.set_result(answer)
        return answer
