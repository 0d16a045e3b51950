"""One question's life on the wire: attempts to each server, twice, staggered over its timeout;
TCP when a reply is truncated; and batches of questions awaited as one.

An `Exchange` holds a slot under the transport's in-flight limit from its first packet to its
answer. Whoever waits for the answer adds a waiter of their own (a future, or a `BatchSlot` of a
`Batch`): one waiter giving up cancels only its own wait, never the question the others wait for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reputation.dns import wire
from reputation.dns.answer import Outcome
from reputation.dns.transport import Server, Transport, UdpSocket, family_of, random16, where


@dataclass
class Trouble:
    """Why one server gave no usable answer."""

    outcome: Outcome
    detail: str


Finish = Callable[["Exchange", bytes | None, dict[Server, Trouble]], object]


Finish = Callable[["Exchange", bytes | None, dict[Server, Trouble]], object]


def attempt_plan(servers: Sequence[Server]) -> tuple[Server, ...]:
    """Each server is asked twice, the attempts staggered over the timeout; every attempt may
    be answered until the deadline, so a slow answer still counts."""
    return tuple(servers) * 2


def _same_source(source: tuple, server: Server) -> bool:  # type: ignore[type-arg]
    return source[1] == server[1] and (source[0] == server[0] or _normal(source[0]) == server[0])


def _normal(host: str) -> str:
    if host.startswith("::ffff:"):
        return host[7:]
    return host.split("%", 1)[0]


def trouble_for_rcode(server: Server, rcode: int) -> Trouble:
    if rcode == wire.SERVFAIL:
        return Trouble(Outcome.SERVFAIL, f"{where(server)} answered SERVFAIL")
    if rcode == wire.REFUSED:
        return Trouble(Outcome.REFUSED, f"{where(server)} answered REFUSED")
    return Trouble(Outcome.ERROR, f"{where(server)} answered rcode {rcode}")


class Batch:
    """Many exchanges awaited as one: one future for all their answers, no future per question."""

    __slots__ = ("future", "left", "results")

    def __init__(self, loop: asyncio.AbstractEventLoop, results: list, left: int) -> None:  # type: ignore[type-arg]
        self.future: asyncio.Future[None] = loop.create_future()
        self.results = results
        self.left = left

    def deliver(self, index: int, result: object) -> None:
        self.results[index] = result
        self.left -= 1
        if not self.left and not self.future.done():
            self.future.set_result(None)


class BatchSlot:
    """One question's place in a `Batch`; an `Exchange` treats it as it treats a waiting future."""

    __slots__ = ("batch", "index")

    def __init__(self, batch: Batch, index: int) -> None:
        self.batch = batch
        self.index = index

    def done(self) -> bool:
        return self.batch.future.done()

    def set_result(self, result: object) -> None:
        self.batch.deliver(self.index, result)

    def cancel(self) -> None:
        self.batch.future.cancel()


class Exchange:
    """One question's life: attempts to each server, twice, staggered; then TCP if truncated.

    Whoever waits for the answer adds a future of their own to `waiters`: one waiter giving up
    cancels only its own future, never the question the others wait for.
    """

    __slots__ = (
        "attempts",
        "context",
        "deadline",
        "due",
        "finish",
        "finished",
        "last_sent",
        "next",
        "plan",
        "question",
        "stagger",
        "tcp",
        "timeout",
        "transport",
        "trouble",
        "waiters",
    )

    def __init__(
        self,
        transport: Transport,
        plan: tuple[Server, ...],
        question: bytes,
        timeout: float,
        finish: Finish,
        context: object = None,
    ) -> None:
        self.transport = transport
        self.question = question
        self.timeout = timeout
        self.finish = finish
        self.context = context
        self.waiters: list[asyncio.Future[object]] = []
        self.plan = plan  # see attempt_plan()
        self.stagger = timeout / len(self.plan)
        self.next = 0
        self.deadline = 0.0  # set when the first packet leaves
        self.last_sent = False
        self.attempts: list[tuple[UdpSocket, int]] = []
        self.trouble: dict[Server, Trouble] = {}
        self.due = 0.0  # when the transport wakes it (see Transport.arm); 0 when not armed
        self.tcp: asyncio.Task[None] | None = None
        self.finished = False

    def start(self) -> None:
        self._advance()

    def _advance(self) -> None:
        """Send the next planned attempt, skipping servers that gave a definite failure."""
        while self.next < len(self.plan):
            server = self.plan[self.next]
            self.next += 1
            known = self.trouble.get(server)
            if known is None or known.outcome is Outcome.TIMEOUT:
                self._send(server)
                return
        if self.attempts:
            self._arm(self.deadline)
        elif self.tcp is None:
            self._done(None)

    def _send(self, server: Server) -> None:
        sock = self.transport.socket_for(family_of(server[0]))
        qid = sock.new_id()
        sock.uses += 1
        sock.pending[qid] = (self, server)
        self.attempts.append((sock, qid))
        self.last_sent = self.next == len(self.plan)
        self.transport.send(sock, wire.query(qid, self.question), server)

    def sent(self, now: float) -> None:
        """The packet left: the timeout runs from now; the next attempt is due a stagger later."""
        if not self.deadline:
            self.deadline = now + self.timeout
        self._arm(self.deadline if self.last_sent else min(self.deadline, now + self.stagger))

    def send_failed(self, sock: UdpSocket, qid: int, server: Server, error: OSError) -> None:
        if (sock, qid) not in self.attempts:
            return
        self.transport.forget(sock, qid)
        self.attempts.remove((sock, qid))
        self.trouble[server] = Trouble(Outcome.ERROR, f"{where(server)}: {error}")
        if not self.attempts and self.tcp is None:
            self._advance()

    def _arm(self, when: float) -> None:
        self.transport.arm(self, when)

    def _on_timer(self) -> None:
        """Called by the transport after it read the sockets: a reply that sat unread while
        the loop was busy is not taken for a lost packet."""
        if self.finished or self.tcp is not None:
            return
        if self.transport.loop.time() >= self.deadline:
            self._done(None)
        else:
            self._advance()

    def on_reply(
        self, sock: UdpSocket, qid: int, server: Server, data: bytes, source: tuple
    ) -> None:  # type: ignore[type-arg]
        if not _same_source(source, server) or not wire.answers_question(data, self.question):
            return  # not from where we asked, or not our question: keep waiting
        self.transport.forget(sock, qid)
        self.transport.replies += 1
        self.attempts.remove((sock, qid))
        rcode = wire.rcode(data)
        if wire.truncated(data):
            if self.tcp is None:
                self._cancel_timer()
                self.tcp = asyncio.ensure_future(self._over_tcp(server))
            return
        if rcode in (wire.NOERROR, wire.NXDOMAIN):
            self._done(data)
            return
        self.trouble[server] = trouble_for_rcode(server, rcode)
        if not self.attempts and self.tcp is None:
            self._advance()

    async def _over_tcp(self, server: Server) -> None:
        remaining = max(self.deadline - self.transport.loop.time(), 0.001)
        try:
            async with asyncio.timeout(remaining):
                data = await _tcp_query(server, self.question)
        except TimeoutError:
            self.trouble[server] = Trouble(Outcome.TIMEOUT, f"{where(server)} timed out over TCP")
        except (OSError, EOFError, asyncio.IncompleteReadError, wire.WireError) as exc:
            detail = f"{where(server)} over TCP: {type(exc).__name__} {exc}".strip()
            self.trouble[server] = Trouble(Outcome.ERROR, detail)
        else:
            if wire.truncated(data):  # RFC 2181 9: never read a truncated answer as data
                detail = f"{where(server)} sent a truncated answer over TCP"
                self.trouble[server] = Trouble(Outcome.ERROR, detail)
            elif wire.rcode(data) in (wire.NOERROR, wire.NXDOMAIN):
                self.tcp = None
                self._done(data)
                return
            else:
                self.trouble[server] = trouble_for_rcode(server, wire.rcode(data))
        self.tcp = None
        if self.finished:
            return
        if self.transport.loop.time() >= self.deadline:
            self._done(None)
        else:
            self._advance()

    def _cancel_timer(self) -> None:
        self.transport.disarm(self)

    def _cleanup(self) -> bool:
        if self.finished:
            return False
        self.finished = True
        self._cancel_timer()
        for sock, qid in self.attempts:
            self.transport.forget(sock, qid)
        self.attempts.clear()
        if self.tcp is not None and self.tcp is not asyncio.current_task():
            self.tcp.cancel()
        self.tcp = None
        if self.next:  # it held a slot
            self.transport.release()
        return True

    def _done(self, data: bytes | None) -> None:
        if self._cleanup():
            result = self.finish(self, data, self.trouble)
            for waiter in self.waiters:
                if not waiter.done():
                    waiter.set_result(result)
            self.waiters.clear()

    def cancel(self) -> None:
        self._cleanup()
        for waiter in self.waiters:
            waiter.cancel()
        self.waiters.clear()


async def _tcp_query(server: Server, question: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(server[0], server[1])
    try:
        qid = random16()
        packet = wire.query(qid, question)
        writer.write(len(packet).to_bytes(2, "big") + packet)
        await writer.drain()
        while True:
            size = int.from_bytes(await reader.readexactly(2), "big")
            data = await reader.readexactly(size)
            if len(data) >= 12 and data[:2] == packet[:2] and wire.answers_question(data, question):
                return data
    finally:
        writer.close()
