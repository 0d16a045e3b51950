"""A deadline that measures waiting, not work: the backstop for a whole check.

Under heavy concurrency a process can be busy for seconds with other checks while every
server answered at once; a wall-clock deadline would then call those checks incomplete.
`backstop(seconds)` behaves like `asyncio.timeout(seconds)`, except while DNS answers are
arriving: then it does not count the time the event loop's thread spent working or waiting for
a CPU (on Linux, from /proc/thread-self/schedstat; elsewhere its CPU time), so it fires when
answers really did not come, never because the process or the machine was the bottleneck. When
no answer at all arrived since it started, it is a plain wall-clock deadline. Each question
still has its own wall-clock timeout from the moment its packet is sent.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from types import TracebackType

from reputation.dns.transport import Transport

_schedstat = threading.local()


def _busy() -> float:
    """Seconds this thread has run on a CPU or waited in the run queue for one."""
    fd = getattr(_schedstat, "fd", None)
    if fd == -1:
        return time.thread_time()
    try:
        if fd is None:
            fd = _schedstat.fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        running, waiting, _ = os.pread(fd, 128, 0).split()
        return (int(running) + int(waiting)) / 1e9
    except (OSError, ValueError, AttributeError):
        _schedstat.fd = -1  # not Linux, or no scheduler statistics: CPU time only
        return time.thread_time()


def _replies() -> int:
    transport = Transport.current()
    return transport.replies if transport is not None else 0


class backstop:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._timeout = asyncio.timeout(None)
        self._handle: asyncio.TimerHandle | None = None
        self._started = (0.0, 0.0)
        self._replies = 0

    async def __aenter__(self) -> backstop:
        loop = asyncio.get_running_loop()
        await self._timeout.__aenter__()
        self._started = (loop.time(), _busy())
        self._replies = _replies()
        self._handle = loop.call_at(self._started[0] + self.seconds, self._check)
        return self

    def _waited(self) -> float:
        wall, cpu = self._started
        elapsed = asyncio.get_running_loop().time() - wall
        if _replies() == self._replies:  # a silent network: every second counts
            return elapsed
        return elapsed - (_busy() - cpu)

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
