"""A deadline that measures waiting, not work: the backstop for a whole check.

Under heavy concurrency a process can be busy for seconds with other checks while every
server answered at once; a wall-clock deadline would then call those checks incomplete.
`backstop(seconds)` behaves like `asyncio.timeout(seconds)` but counts only the time the
event loop's thread was not running (waiting for the network, or not scheduled), so it fires
when answers really did not come, and never because the process itself was the bottleneck.
Each question still has its own wall-clock timeout from the moment its packet is sent.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType


class backstop:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._timeout = asyncio.timeout(None)
        self._handle: asyncio.TimerHandle | None = None
        self._started = (0.0, 0.0)

    async def __aenter__(self) -> backstop:
        loop = asyncio.get_running_loop()
        await self._timeout.__aenter__()
        self._started = (loop.time(), time.thread_time())
        self._handle = loop.call_at(self._started[0] + self.seconds, self._check)
        return self

    def _waited(self) -> float:
        wall, cpu = self._started
        return (asyncio.get_running_loop().time() - wall) - (time.thread_time() - cpu)

    def _check(self) -> None:
        loop = asyncio.get_running_loop()
        waited = self._waited()
        if waited >= self.seconds:
            self._timeout.reschedule(loop.time())
        else:
            self._handle = loop.call_at(loop.time() + self.seconds - waited, self._check)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        if self._handle is not None:
            self._handle.cancel()
        return await self._timeout.__aexit__(exc_type, exc, traceback)
