"""Each list's RFC 5782 test points, asked once and believed while their TTL lasts.

Every answer of a list is read against its two test points: a listing is believed only when the
negative point is not listed, a clean answer only when the positive point still is. A Session
keeps one `TestPoints`: each list's pair is asked once, shared by every lookup waiting for it
meanwhile, and reused without asking until the shorter of the two TTLs runs out. A pair with a
failed answer (timeout, SERVFAIL, REFUSED) serves the lookups that waited for it and is never
kept: the next lookup asks again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from reputation.blocklists.catalog import Blocklist
from reputation.blocklists.names import point_name
from reputation.dns.cache import DEFAULT_TTL, MAX_TTL, Querier
from reputation.dns.resolver import Answer


@dataclass(frozen=True)
class Points:
    """What a list's test points got; None for a point the list does not document."""

    negative: Answer | None
    positive: Answer | None

    @property
    def failed(self) -> bool:
        return any(a is not None and a.unverified for a in (self.negative, self.positive))


UNTESTABLE = Points(None, None)
Key = tuple[str, str, str]  # zone, negative point, positive point


class TestPoints:
    """Test-point answers per list, asked through `resolver` (see the module doc)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        resolver: Querier,
        *,
        default_ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.resolver = resolver
        self.default_ttl = default_ttl
        self.clock = clock
        self._kept: dict[Key, tuple[Points, float]] = {}
        self._asking: dict[Key, asyncio.Task[Points]] = {}

    def known_or_asked(self, blocklist: Blocklist, zone: str) -> Points | asyncio.Task[Points]:
        """The points if kept and fresh; else the task asking them (started now if none is).

        Await a task through `asyncio.shield`: one lookup giving up (its deadline) must not
        cancel what other lookups wait for."""
        negative, positive = blocklist.negative_test_point, blocklist.test_listed
        if not negative and not positive:
            return UNTESTABLE
        key = (zone, negative, positive)
        kept = self._kept.get(key)
        if kept is not None:
            if kept[1] > self.clock():
                return kept[0]
            del self._kept[key]
        task = self._asking.get(key)
        if task is None:
            task = self._asking[key] = asyncio.ensure_future(self._ask(key))
        return task

    async def _ask(self, key: Key) -> Points:
        zone, negative, positive = key
        try:
            negative_answer, positive_answer = await asyncio.gather(
                ask_point(self.resolver, negative, zone), ask_point(self.resolver, positive, zone)
            )
        finally:
            self._asking.pop(key, None)
        points = Points(negative_answer, positive_answer)
        lifetime = self._lifetime(points)
        if lifetime > 0:
            self._kept[key] = (points, self.clock() + lifetime)
        return points

    def _lifetime(self, points: Points) -> float:
        """How long the pair may be reused: the shorter TTL; 0 (not kept) when one failed."""
        if points.failed:
            return 0.0
        ttls = [
            min(float(a.ttl) if a.ttl is not None else self.default_ttl, MAX_TTL)
            for a in (points.negative, points.positive)
            if a is not None
        ]
        return min(ttls)

    async def aclose(self) -> None:
        """Cancel what is still being asked, so nothing outlives the session."""
        pending = [task for task in self._asking.values() if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def ask_point(resolver: Querier, point: str, zone: str) -> Answer | None:
    if not point:
        return None
    return await resolver.query(point_name(point, zone), "A")
