"""Sending DNS questions: a few long-lived UDP sockets shared by every query of an event loop.

Each question is one `Exchange`: one entry in the loop's one timer heap, and one waiter per asker
(a future, or a slot of a batch). It waits for a slot under the process-wide limit on queries in
flight, and its timeout starts when its first packet leaves.
A reply is taken only when its ID, question and source address all match an attempt still
outstanding; anything else is ignored, as a spoofed or stray datagram. Before a timer resends,
the sockets are read: a reply that sat unread because the loop was busy is not a lost packet.
A truncated reply (TC) is never read as data: the question is asked again over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import secrets
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from reputation.dns import wire
from reputation.dns.answer import Outcome

Server = tuple[str, int]

MAX_IN_FLIGHT = 256  # questions on the wire at once, for the whole event loop
SOCKETS_PER_FAMILY = 8
SOCKET_USES = 2048  # queries a socket carries before a fresh one (a new random port) replaces it
SOCKET_AGE = 30.0  # seconds, likewise
RECEIVE_BUFFER = 1 << 20


@dataclass
class Trouble:
    """Why one server gave no usable answer."""

    outcome: Outcome
    detail: str


Finish = Callable[["Exchange", bytes | None, dict[Server, Trouble]], object]


class _Socket:
    __slots__ = ("born", "closed", "family", "pending", "retired", "sock", "uses")

    def __init__(self, family: int, born: float) -> None:
        self.family = family
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        # Port 0: the kernel picks a random ephemeral port, as it does for dnspython's sockets.
        self.sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
        self.pending: dict[int, tuple[Exchange, Server]] = {}
        self.uses = 0
        self.born = born
        self.retired = False
        self.closed = False

    def new_id(self) -> int:
        while True:
            qid = _random16()
            if qid not in self.pending:
                return qid


_entropy = b""
_entropy_at = 0


def _random16() -> int:
    """16 unpredictable bits, from the OS's CSPRNG (as `secrets`), fetched in blocks."""
    global _entropy, _entropy_at
    if _entropy_at >= len(_entropy):
        _entropy, _entropy_at = secrets.token_bytes(4096), 0
    _entropy_at += 2
    return (_entropy[_entropy_at - 2] << 8) | _entropy[_entropy_at - 1]


class Transport:
    """The sockets, the in-flight limit and the queue of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_in_flight: int = MAX_IN_FLIGHT):
        self.loop = loop
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.waiting: deque[Exchange] = deque()
        self._sockets: dict[int, list[_Socket]] = {}
        self._all: list[_Socket] = []
        self._pumping = False
        self._pump_due = False
        self._outbox: list[tuple[_Socket, bytes, Server]] = []
        self.replies = 0  # replies taken so far: tells a busy process from a silent network
        self.closed = False
        # One loop timer for every exchange: (when, tiebreak, exchange), stale entries skipped.
        self._timers: list[tuple[float, int, Exchange]] = []
        self._armed = 0
        self._tiebreak = itertools.count()
        self._tick: asyncio.TimerHandle | None = None
        self._tick_at = 0.0
        # One receive buffer for every read: a datagram of any size fits, none is allocated.
        self._buffer = memoryview(bytearray(65535))

    @staticmethod
    def current() -> Transport | None:
        """The running loop's transport, if any query has created one."""
        return getattr(asyncio.get_running_loop(), "_reputation_dns_transport", None)

    @classmethod
    def running(cls) -> Transport:
        """The transport of the running loop, created on first use, closed with the loop."""
        loop = asyncio.get_running_loop()
        transport: Transport | None = getattr(loop, "_reputation_dns_transport", None)
        if transport is None or transport.closed:
            transport = cls(loop)
            loop._reputation_dns_transport = transport  # type: ignore[attr-defined]
            _close_with_loop(transport)
        return transport

    def open_fds(self) -> int:
        return sum(1 for s in self._all if not s.closed)

    def submit(self, exchange: Exchange) -> None:
        self.waiting.append(exchange)
        self._pump()

    def release(self) -> None:
        """A slot is free. The next question starts on the next loop iteration, so a run's
        cancelled questions all leave the queue before any of them would be started."""
        self.in_flight -= 1
        if self.waiting and not self._pump_due:
            self._pump_due = True
            self.loop.call_soon(self._pump)

    def _pump(self) -> None:
        self._pump_due = False
        if self._pumping:  # an exchange finishing while it starts: the outer loop goes on
            return
        self._pumping = True
        try:
            while self.waiting and self.in_flight < self.max_in_flight:
                exchange = self.waiting.popleft()
                if not exchange.finished:
                    self.in_flight += 1
                    exchange.start()
        finally:
            self._pumping = False

    def send(self, sock: _Socket, packet: bytes, server: Server) -> None:
        """Queue a packet; the packets of one loop iteration leave together. On a busy host
        that wakes the server once per batch instead of once per packet."""
        if not self._outbox:
            self.loop.call_soon(self._flush)
        self._outbox.append((sock, packet, server))

    def _flush(self) -> None:
        outbox, self._outbox = self._outbox, []
        now = self.loop.time()
        for sock, packet, server in outbox:
            entry = sock.pending.get((packet[0] << 8) | packet[1])
            if sock.closed or entry is None:
                continue  # the question was answered or given up meanwhile
            try:
                sock.sock.sendto(packet, server)
            except BlockingIOError:
                pass  # a full send buffer loses the packet as the network would; retries cover it
            except OSError as exc:
                entry[0].send_failed(sock, (packet[0] << 8) | packet[1], server, exc)
                continue
            entry[0].sent(now)

    def socket_for(self, family: int) -> _Socket:
        live = self._sockets.setdefault(family, [])
        now = self.loop.time()
        if len(live) < SOCKETS_PER_FAMILY:
            return self._open(family, now)
        chosen = live[_random16() % len(live)]
        if chosen.uses >= SOCKET_USES or now - chosen.born > SOCKET_AGE:
            self._retire(chosen)
            return self._open(family, now)
        return chosen

    def _open(self, family: int, now: float) -> _Socket:
        sock = _Socket(family, now)
        self._sockets[family].append(sock)
        self._all.append(sock)
        self.loop.add_reader(sock.sock.fileno(), self._readable, sock)
        return sock

    def _retire(self, sock: _Socket) -> None:
        sock.retired = True
        self._sockets[sock.family].remove(sock)
        if not sock.pending:
            self._close(sock)

    def _close(self, sock: _Socket) -> None:
        if not sock.closed:
            sock.closed = True
            self.loop.remove_reader(sock.sock.fileno())
            sock.sock.close()
            self._all.remove(sock)

    def forget(self, sock: _Socket, qid: int) -> None:
        sock.pending.pop(qid, None)
        if sock.retired and not sock.pending:
            self._close(sock)

    def drain(self) -> None:
        """Read every reply already waiting in the sockets."""
        for sock in list(self._all):
            self._readable(sock)

    def arm(self, exchange: Exchange, when: float) -> None:
        """Wake `exchange` at `when` (its `_on_timer`), replacing the time it was armed for."""
        if not exchange.due:
            self._armed += 1
        exchange.due = when
        heapq.heappush(self._timers, (when, next(self._tiebreak), exchange))
        if self._tick is None or when < self._tick_at:
            self._schedule_tick(when)
        elif len(self._timers) > 1024 and len(self._timers) > 3 * self._armed:
            self._compact()

    def disarm(self, exchange: Exchange) -> None:
        if exchange.due:
            exchange.due = 0.0
            self._armed -= 1

    def _compact(self) -> None:
        self._timers = [entry for entry in self._timers if entry[2].due == entry[0]]
        heapq.heapify(self._timers)

    def _schedule_tick(self, when: float) -> None:
        if self._tick is not None:
            self._tick.cancel()
        self._tick_at = when
        self._tick = self.loop.call_at(when, self._on_tick)

    def _on_tick(self) -> None:
        self._tick = None
        self.drain()  # a reply that sat unread while the loop was busy is not lost
        now = self.loop.time()
        timers = self._timers
        due: list[Exchange] = []
        while timers and timers[0][0] <= now:
            when, _, exchange = heapq.heappop(timers)
            if exchange.due == when:
                self.disarm(exchange)
                due.append(exchange)
        for exchange in due:
            exchange._on_timer()
        while timers and timers[0][2].due != timers[0][0]:
            heapq.heappop(timers)  # stale: answered or re-armed since
        if timers and self._tick is None:
            self._schedule_tick(timers[0][0])

    def _readable(self, sock: _Socket) -> None:
        buffer = self._buffer
        while not sock.closed:
            try:
                size, source = sock.sock.recvfrom_into(buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if size < 12:
                continue
            data = bytes(buffer[:size])
            entry = sock.pending.get((data[0] << 8) | data[1])
            if entry is not None:
                entry[0].on_reply(sock, (data[0] << 8) | data[1], entry[1], data, source)

    def close(self) -> None:
        self.closed = True
        if self._tick is not None:
            self._tick.cancel()
        for exchange in list(self.waiting):
            exchange.cancel()
        for sock in list(self._all):
            for exchange, _ in list(sock.pending.values()):
                exchange.cancel()
            self._close(sock)
        self._sockets.clear()


def _close_with_loop(transport: Transport) -> None:
    """Close the sockets when the loop shuts down (asyncio.run finalises async generators)."""

    async def lifetime() -> AsyncIterator[None]:
        try:
            yield
        finally:
            transport.close()

    keeper = lifetime()
    transport._keeper = keeper  # type: ignore[attr-defined]
    # Run it to its `yield` now: the loop registers it, and closes it at shutdown.
    with contextlib.suppress(StopIteration):
        keeper.asend(None).send(None)


def attempt_plan(servers: Sequence[Server]) -> tuple[Server, ...]:
    """Each server is asked twice, the attempts staggered over the timeout; every attempt may
    be answered until the deadline, so a slow answer still counts."""
    return tuple(servers) * 2


def family_of(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def where(server: Server) -> str:
    host, port = server
    shown = f"[{host}]" if ":" in host else host
    return shown if port == 53 else f"{shown}:{port}"


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
        self.attempts: list[tuple[_Socket, int]] = []
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

    def send_failed(self, sock: _Socket, qid: int, server: Server, error: OSError) -> None:
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

    def on_reply(self, sock: _Socket, qid: int, server: Server, data: bytes, source: tuple) -> None:  # type: ignore[type-arg]
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
        qid = secrets.randbits(16)
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
