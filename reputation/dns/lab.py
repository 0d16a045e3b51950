"""A small authoritative DNS server for tests and for `reputation demo`.

It answers from zone data held in memory, over UDP and TCP on one loopback port, and can be
told to drop, SERVFAIL or REFUSE chosen names, so that every failure a real resolver meets
can be reproduced without the internet.

Zone text is one record a line: ``name [ttl] TYPE rdata``; names are absolute, a trailing dot
is optional; ``;`` and ``#`` start comments. ``*.zone`` is a wildcard.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import struct
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

MAX_CNAME_HOPS = 8
DEFAULT_TTL = 300


class Behaviour(StrEnum):
    DROP = "drop"
    SERVFAIL = "servfail"
    REFUSE = "refuse"
    REFER = "refer"  # answer like a non-recursive server: a referral instead of the records
    TRUNCATE = "truncate"  # UDP says "truncated, ask over TCP", then TCP closes without answer


@dataclass(frozen=True)
class _Rule:
    pattern: dns.name.Name
    rdtype: int | None
    behaviour: Behaviour

    def matches(self, qname: dns.name.Name, rdtype: int) -> bool:
        if self.rdtype is not None and self.rdtype != rdtype:
            return False
        if self.pattern.labels[:1] == (b"*",):
            return qname.is_subdomain(self.pattern.parent())
        return qname == self.pattern


def _name(text: str) -> dns.name.Name:
    text = text.strip()
    return dns.name.from_text(text if text.endswith(".") else text + ".")


@dataclass
class LabWorld:
    """Zone data plus the names that misbehave."""

    records: dict[dns.name.Name, dict[int, list[dns.rdata.Rdata]]] = field(default_factory=dict)
    rules: list[_Rule] = field(default_factory=list)
    delays: list[tuple[_Rule, float]] = field(default_factory=list)

    @classmethod
    def from_text(cls, text: str) -> LabWorld:
        world = cls()
        world.load(text)
        return world

    def load(self, text: str) -> LabWorld:
        for raw in text.splitlines():
            line = (
                raw.split(";", 1)[0].split("#", 1)[0].strip() if not _is_txt(raw) else raw.strip()
            )
            if not line:
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                raise ValueError(f"zone line needs NAME TYPE DATA: {raw!r}")
            name, rest = parts[0], parts[1:]
            if rest[0].isdigit():
                rest = rest[1].split(None, 1)
            if len(rest) < 2:
                raise ValueError(f"zone line needs NAME TYPE DATA: {raw!r}")
            self.add(name, rest[0], rest[1])
        return self

    def add(self, name: str, rdtype: str, *values: str) -> LabWorld:
        owner = _name(name)
        code = dns.rdatatype.from_text(rdtype)
        for value in values:
            rd = dns.rdata.from_text(
                dns.rdataclass.IN, code, value, origin=dns.name.root, relativize=False
            )
            self.records.setdefault(owner, {}).setdefault(code, []).append(rd)
        return self

    def add_txt(self, name: str, *strings: str) -> LabWorld:
        """One TXT record made of several character-strings (each at most 255 bytes)."""
        quoted = " ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in strings)
        if not strings:  # a TXT record with no character-string at all
            rd = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [])
            self.records.setdefault(_name(name), {}).setdefault(dns.rdatatype.TXT, []).append(rd)
            return self
        return self.add(name, "TXT", quoted)

    def misbehave(self, behaviour: Behaviour | str, *names: str, rdtype: str | None = None) -> None:
        code = dns.rdatatype.from_text(rdtype) if rdtype else None
        for name in names:
            self.rules.append(_Rule(_name(name), code, Behaviour(behaviour)))

    def slow(self, seconds: float, *names: str) -> LabWorld:
        """Answer these names (`*.zone` patterns too) over UDP only after `seconds`."""
        for name in names:
            self.delays.append((_Rule(_name(name), None, Behaviour.DROP), seconds))
        return self

    def delay_for(self, data: bytes) -> float:
        try:
            question = dns.message.from_wire(data).question[0]
        except (dns.exception.DNSException, IndexError):
            return 0.0
        return next(
            (s for rule, s in self.delays if rule.matches(question.name, question.rdtype)), 0.0
        )

    def drop(self, *names: str, rdtype: str | None = None) -> LabWorld:
        self.misbehave(Behaviour.DROP, *names, rdtype=rdtype)
        return self

    def servfail(self, *names: str, rdtype: str | None = None) -> LabWorld:
        self.misbehave(Behaviour.SERVFAIL, *names, rdtype=rdtype)
        return self

    def refuse(self, *names: str, rdtype: str | None = None) -> LabWorld:
        self.misbehave(Behaviour.REFUSE, *names, rdtype=rdtype)
        return self

    def respond(self, query: dns.message.Message) -> dns.message.Message | None:
        """The response to send, or None to stay silent."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA | dns.flags.RA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        name, rdtype = question.name, question.rdtype
        for _ in range(MAX_CNAME_HOPS):
            behaviour = self._behaviour(name, rdtype)
            if behaviour is Behaviour.DROP:
                return None
            if behaviour is Behaviour.REFER:
                return _referral(query, name)
            if behaviour is Behaviour.TRUNCATE:
                response.answer.clear()
                response.flags |= dns.flags.TC
                return response
            if behaviour is not None:
                response.answer.clear()
                bad = dns.rcode.SERVFAIL if behaviour is Behaviour.SERVFAIL else dns.rcode.REFUSED
                response.set_rcode(bad)
                return response
            node = self._node(name)
            if node is None:
                if not self._has_descendant(name) and name != dns.name.root:  # root exists
                    response.set_rcode(dns.rcode.NXDOMAIN)
                return response
            if rdtype in node or (rdtype == dns.rdatatype.ANY and node):
                for code, rdatas in node.items():
                    if rdtype in (code, dns.rdatatype.ANY):
                        response.answer.append(_rrset(name, code, rdatas))
                return response
            cname = node.get(dns.rdatatype.CNAME)
            if not cname:
                return response
            response.answer.append(_rrset(name, dns.rdatatype.CNAME, cname))
            name = cname[0].target
        return response

    def _behaviour(self, name: dns.name.Name, rdtype: int) -> Behaviour | None:
        for rule in self.rules:
            if rule.matches(name, rdtype):
                return rule.behaviour
        return None

    def _node(self, name: dns.name.Name) -> dict[int, list[dns.rdata.Rdata]] | None:
        node = self.records.get(name)
        if node is not None:
            return node
        if self._has_descendant(name):
            return None
        ancestor = name
        while len(ancestor) > 1:
            ancestor = ancestor.parent()
            wildcard = self.records.get(dns.name.Name((b"*", *ancestor.labels)))
            if wildcard is not None:
                return wildcard
            if ancestor in self.records:
                return None
        return None

    def _has_descendant(self, name: dns.name.Name) -> bool:
        return any(other != name and other.is_subdomain(name) for other in self.records)


def _referral(query: dns.message.Message, name: dns.name.Name) -> dns.message.Message:
    response = dns.message.make_response(query)
    response.flags &= ~(dns.flags.AA | dns.flags.RA)
    ns = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.NS, "ns1.elsewhere.example.")
    response.authority.append(_rrset(name.parent(), dns.rdatatype.NS, [ns]))
    return response


def _is_txt(line: str) -> bool:
    return '"' in line


def _rrset(name: dns.name.Name, rdtype: int, rdatas: Iterable[dns.rdata.Rdata]) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(name, dns.rdataclass.IN, rdtype)
    for rd in rdatas:
        rrset.add(rd, DEFAULT_TTL)
    return rrset


def _wire(response: dns.message.Message, limit: int) -> bytes:
    try:
        return response.to_wire(max_size=limit, want_shuffle=False)
    except dns.exception.TooBig:
        response.answer.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit, want_shuffle=False)


def _udp_limit(query: dns.message.Message) -> int:
    return max(512, query.payload) if query.edns >= 0 else 512


class _UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: LabDNSServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.server.handle(data, udp=True)
        if reply is None or self.transport is None:
            return
        delay = self.server.world.delay_for(data) if self.server.world.delays else 0.0
        if delay:
            asyncio.get_running_loop().call_later(delay, self.transport.sendto, reply, addr)
        else:
            self.transport.sendto(reply, addr)


class LabDNSServer:
    """Serves a LabWorld on 127.0.0.1, UDP and TCP on the same free port, from its own thread."""

    def __init__(self, world: LabWorld, host: str = "127.0.0.1") -> None:
        self.world = world
        self.host = host
        self.port = 0
        # The questions asked (name, type, transport); bounded, for a long `demo --serve`.
        self.log: deque[tuple[str, str, str]] = deque(maxlen=1_000_000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def queried(self, suffix: str) -> list[tuple[str, str, str]]:
        """Logged questions (name, type, transport) for names at or under `suffix`."""
        wanted = _name(suffix)
        return [entry for entry in self.log if _name(entry[0]).is_subdomain(wanted)]

    def handle(self, data: bytes, udp: bool) -> bytes | None:
        """The reply's wire form; None to stay silent (or, over TCP, to hang up when truncating)."""
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        if query.question:
            q = query.question[0]
            self.log.append(
                (q.name.to_text(), dns.rdatatype.to_text(q.rdtype), "udp" if udp else "tcp")
            )
        try:
            response = self.world.respond(query)
        except Exception:  # a lab server answers SERVFAIL, like a real one, rather than dying
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
        if response is None or (not udp and response.flags & dns.flags.TC):
            return None
        return _wire(response, _udp_limit(query) if udp else 65535)

    def _hangs_up(self, data: bytes) -> bool:
        query = dns.message.from_wire(data)
        q = query.question[0]
        return self.world._behaviour(q.name, q.rdtype) is Behaviour.TRUNCATE

    def start(self) -> LabDNSServer:
        self._thread = threading.Thread(target=self._run, name="labdns", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the lab DNS server did not start within 10 s")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> LabDNSServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        udp_sock, tcp_sock = _bind_pair(self.host)
        self.port = udp_sock.getsockname()[1]
        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _UDPProtocol(self), sock=udp_sock
        )
        tcp_server = await asyncio.start_server(self._tcp_client, sock=tcp_sock)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            transport.close()
            tcp_server.close()

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                query = await reader.readexactly(length)
                reply = self.handle(query, udp=False)
                if reply is None:
                    if self._hangs_up(query):
                        break
                    continue
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        writer.close()


def _bind_pair(host: str) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket bound to the same free port."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Bursts of hundreds of concurrent questions must queue, not be dropped.
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        udp.bind((host, 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.bind((host, port))
        except OSError as exc:
            udp.close()
            tcp.close()
            if exc.errno == errno.EADDRINUSE:
                continue
            raise
        tcp.listen(64)
        udp.setblocking(False)
        tcp.setblocking(False)
        return udp, tcp
    raise OSError("could not find a port free for both UDP and TCP")
