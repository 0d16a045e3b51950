"""Sending DNS questions: a few long-lived UDP sockets shared by every query of an event loop.

The transport owns the sockets, the process-wide limit on questions in flight and its queue, and
one timer heap that wakes every question (`reputation.dns.exchange`) when it is due. A reply is
handed on only when its ID matches an attempt still outstanding on the socket it came in on; the
exchange then checks its question and source address, and ignores anything else as spoofed or
stray. Before any timer fires, the sockets are read: a reply that sat unread because the loop was
busy is not a lost packet.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import os
import socket
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reputation.dns.exchange import Exchange

Server = tuple[str, int]

MAX_IN_FLIGHT = 256  # questions on the wire at once, for the whole event loop
SOCKETS_PER_FAMILY = 8
SOCKET_USES = 2048  # queries a socket carries before a fresh one (a new random port) replaces it
SOCKET_AGE = 30.0  # seconds, likewise
RECEIVE_BUFFER = 1 << 20


class UdpSocket:
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
            qid = random16()
            if qid not in self.pending:
                return qid


_entropy = b""
_entropy_at = 0


def random16() -> int:
    """16 unpredictable bits, from the OS's CSPRNG (what `secrets` uses), fetched in blocks."""
    global _entropy, _entropy_at
    if _entropy_at >= len(_entropy):
        _entropy, _entropy_at = os.urandom(4096), 0
    _entropy_at += 2
    return (_entropy[_entropy_at - 2] << 8) | _entropy[_entropy_at - 1]


class Transport:
    """The sockets, the in-flight limit and the queue of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_in_flight: int = MAX_IN_FLIGHT):
        self.loop = loop
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.waiting: deque[Exchange] = deque()
        self._sockets: dict[int, list[UdpSocket]] = {}
        self._all: list[UdpSocket] = []
        self._pumping = False
        self._pump_due = False
        self._outbox: list[tuple[UdpSocket, bytes, Server]] = []
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

    def send(self, sock: UdpSocket, packet: bytes, server: Server) -> None:
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

    def socket_for(self, family: int) -> UdpSocket:
        live = self._sockets.setdefault(family, [])
        now = self.loop.time()
        if len(live) < SOCKETS_PER_FAMILY:
            return self._open(family, now)
        chosen = live[random16() % len(live)]
        if chosen.uses >= SOCKET_USES or now - chosen.born > SOCKET_AGE:
            self._retire(chosen)
            return self._open(family, now)
        return chosen

    def _open(self, family: int, now: float) -> UdpSocket:
        sock = UdpSocket(family, now)
        self._sockets[family].append(sock)
        self._all.append(sock)
        self.loop.add_reader(sock.sock.fileno(), self._readable, sock)
        return sock

    def _retire(self, sock: UdpSocket) -> None:
        sock.retired = True
        self._sockets[sock.family].remove(sock)
        if not sock.pending:
            self._close(sock)

    def _close(self, sock: UdpSocket) -> None:
        if not sock.closed:
            sock.closed = True
            self.loop.remove_reader(sock.sock.fileno())
            sock.sock.close()
            self._all.remove(sock)

    def forget(self, sock: UdpSocket, qid: int) -> None:
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

    def _readable(self, sock: UdpSocket) -> None:
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


def family_of(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def where(server: Server) -> str:
    host, port = server
    shown = f"[{host}]" if ":" in host else host
    return shown if port == 53 else f"{shown}:{port}"
