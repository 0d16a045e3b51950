"""The query engine takes only the reply to the question it asked, from the server it asked,
reads a truncated reply never as data, and shares a bounded set of sockets between queries."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Callable, Iterator

import dns.flags
import dns.message
import dns.rrset
import pytest

from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.dns.resolver import Answer, Outcome, Resolver
from reputation.dns.transport import SOCKETS_PER_FAMILY, Transport
from tests.rawdns import udp_and_tcp_on_one_port

StartServer = Callable[[LabWorld | str], LabDNSServer]
Reply = Callable[[dns.message.Message], list[tuple[bytes, bool]]]  # (wire, from a stranger)


def reply_with(query: dns.message.Message, address: str, **changes: object) -> bytes:
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text(query.question[0].name, 300, "IN", "A", address))
    if changes.get("tc"):
        response.flags |= dns.flags.TC
    wire = response.to_wire()
    if "id" in changes:
        wire = int(changes["id"]).to_bytes(2, "big") + wire[2:]  # type: ignore[call-overload]
    return wire


class RogueServer:
    """A UDP+TCP server on loopback whose replies a test writes, strangers' replies included."""

    def __init__(self, udp_reply: Reply, tcp_reply: Callable[[dns.message.Message], bytes]):
        self.udp, self.tcp, self.port = udp_and_tcp_on_one_port()
        self.stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.stranger.bind(("127.0.0.1", 0))
        self.udp_reply, self.tcp_reply = udp_reply, tcp_reply
        self.udp_queries = 0
        for target in (self._serve_udp, self._serve_tcp):
            threading.Thread(target=target, daemon=True).start()

    def _serve_udp(self) -> None:
        while True:
            try:
                data, client = self.udp.recvfrom(65535)
            except OSError:
                return
            self.udp_queries += 1
            for wire, from_stranger in self.udp_reply(dns.message.from_wire(data)):
                (self.stranger if from_stranger else self.udp).sendto(wire, client)

    def _serve_tcp(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                size = int.from_bytes(conn.recv(2), "big")
                data = b""
                while len(data) < size:
                    data += conn.recv(size - len(data))
                wire = self.tcp_reply(dns.message.from_wire(data))
                conn.sendall(len(wire).to_bytes(2, "big") + wire)

    def close(self) -> None:
        for sock in (self.udp, self.tcp, self.stranger):
            sock.close()


@pytest.fixture
def rogue() -> Iterator[Callable[..., RogueServer]]:
    servers: list[RogueServer] = []

    def start(udp_reply: Reply, tcp_reply: Callable[[dns.message.Message], bytes] = bytes):
        servers.append(RogueServer(udp_reply, tcp_reply))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def ask(port: int, name: str = "host.zone.net", timeout: float = 1.0) -> Answer:
    return asyncio.run(Resolver([("127.0.0.1", port)], timeout=timeout).query(name, "A"))


def test_spoofed_replies_are_ignored_and_the_real_one_taken(rogue) -> None:
    def replies(query: dns.message.Message) -> list[tuple[bytes, bool]]:
        wrong_id = (query.id + 1) % 65536
        other = dns.message.make_query("other.zone.net", "A")
        other.id = query.id
        return [
            (reply_with(query, "6.6.6.1", id=wrong_id), False),  # another ID
            (reply_with(other, "6.6.6.2"), False),  # another question
            (reply_with(query, "6.6.6.3"), True),  # right ID and question, another source port
            (reply_with(query, "81.2.69.1"), False),
        ]

    answer = ask(rogue(replies).port)
    assert answer.records == ["81.2.69.1"]


def test_only_spoofed_replies_mean_no_answer(rogue) -> None:
    def replies(query: dns.message.Message) -> list[tuple[bytes, bool]]:
        return [(reply_with(query, "6.6.6.3"), True)]

    answer = ask(rogue(replies).port, timeout=0.4)
    assert answer.outcome is Outcome.TIMEOUT
    assert not answer.records


def test_question_case_does_not_matter(rogue) -> None:
    def replies(query: dns.message.Message) -> list[tuple[bytes, bool]]:
        query.question[0].name = dns.name.from_text(query.question[0].name.to_text().upper())
        return [(reply_with(query, "81.2.69.1"), False)]

    assert ask(rogue(replies).port, "Host.Zone.Net").records == ["81.2.69.1"]


def test_a_truncated_udp_reply_is_never_read_as_data(rogue) -> None:
    server = rogue(
        lambda q: [(reply_with(q, "6.6.6.6", tc=True), False)],
        lambda q: reply_with(q, "81.2.69.1"),
    )
    assert ask(server.port).records == ["81.2.69.1"]
    assert server.udp_queries == 1


def test_a_truncated_reply_over_tcp_is_an_error_not_no_records(rogue) -> None:
    server = rogue(
        lambda q: [(reply_with(q, "6.6.6.6", tc=True), False)],
        lambda q: reply_with(q, "6.6.6.7", tc=True),
    )
    answer = ask(server.port)
    assert answer.outcome is Outcome.ERROR
    assert "truncated" in answer.detail
    assert not answer.records


def test_many_queries_share_a_few_sockets(lab_dns: StartServer) -> None:
    count = 600
    server = lab_dns("*.zone.net A 81.2.69.1")
    resolver = Resolver([("127.0.0.1", server.port)], timeout=5)
    seen: list[int] = []

    async def many() -> list[Answer]:
        before = len(os.listdir("/proc/self/fd"))
        asks = [asyncio.ensure_future(resolver.query(f"h{i}.zone.net", "A")) for i in range(count)]
        await asyncio.sleep(0.01)  # everything is submitted and partly on the wire
        seen.append(len(os.listdir("/proc/self/fd")) - before)
        seen.append(Transport.running().open_fds())
        return list(await asyncio.gather(*asks))

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to count file descriptors")
    answers = asyncio.run(many())
    assert all(a.records == ["81.2.69.1"] for a in answers)
    assert seen[0] <= SOCKETS_PER_FAMILY + 2
    assert 0 < seen[1] <= SOCKETS_PER_FAMILY


def test_answers_are_read_through_compression_and_chains(lab_dns: StartServer) -> None:
    server = lab_dns(
        "a.zone.net CNAME b.zone.net.\nb.zone.net CNAME c.zone.net.\n"
        "c.zone.net MX 10 mail.zone.net.\nc.zone.net MX 20 mail2.zone.net.\n"
    )
    answer = asyncio.run(
        Resolver([("127.0.0.1", server.port)], timeout=1).query("a.zone.net", "MX")
    )
    assert sorted(answer.records) == ["10 mail.zone.net.", "20 mail2.zone.net."]
    assert answer.cnames == ("b.zone.net", "c.zone.net")
    assert answer.ttl == 300


def test_a_txt_record_of_several_strings_reads_as_one_text(lab_dns: StartServer) -> None:
    server = lab_dns('zone.net TXT "v=spf1 ip4:81.2.69.0/24 " "include:_spf.example.net -all"')
    answer = asyncio.run(Resolver([("127.0.0.1", server.port)], timeout=1).query("zone.net", "TXT"))
    assert answer.records == ["v=spf1 ip4:81.2.69.0/24 include:_spf.example.net -all"]
    assert answer.rdata[0].to_text() == '"v=spf1 ip4:81.2.69.0/24 " "include:_spf.example.net -all"'


def test_a_txt_string_running_past_its_record_is_an_unusable_answer(rogue) -> None:
    def replies(query: dns.message.Message) -> list[tuple[bytes, bool]]:
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(query.question[0].name, 300, "IN", "TXT", "abc"))
        return [(response.to_wire().replace(b"\x03abc", b"\x09abc"), False)]

    server = rogue(replies)
    answer = asyncio.run(Resolver([("127.0.0.1", server.port)], timeout=1).query("t.net", "TXT"))
    assert answer.outcome is Outcome.ERROR
    assert "TXT string runs past its record" in answer.detail
    assert not answer.records
