"""The DNS engine reads every outcome honestly: answers, absences and failures stay distinct."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.dns.resolver import Answer, Outcome, Resolver

StartServer = Callable[[LabWorld | str], LabDNSServer]


def ask(server: LabDNSServer, name: str, rdtype: str, timeout: float = 1.0) -> Answer:
    resolver = Resolver([("127.0.0.1", server.port)], timeout=timeout)
    return asyncio.run(resolver.query(name, rdtype))


def test_answer_nxdomain_and_nodata_are_told_apart(lab_dns: StartServer) -> None:
    server = lab_dns("host.zone.net A 81.2.69.1")
    assert ask(server, "host.zone.net", "A").records == ["81.2.69.1"]
    assert ask(server, "host.zone.net", "MX").outcome is Outcome.NODATA
    assert ask(server, "missing.zone.net", "A").outcome is Outcome.NXDOMAIN


@pytest.mark.parametrize(
    ("behaviour", "outcome"),
    [("servfail", Outcome.SERVFAIL), ("refuse", Outcome.REFUSED)],
)
def test_error_rcodes_are_unverified_not_absent(
    lab_dns: StartServer, behaviour: str, outcome: Outcome
) -> None:
    world = LabWorld.from_text("host.zone.net A 81.2.69.1")
    world.misbehave(behaviour, "host.zone.net")
    answer = ask(lab_dns(world), "host.zone.net", "A")
    assert answer.outcome is outcome
    assert answer.unverified and not answer.absent


def test_dropped_query_times_out_within_the_timeout(lab_dns: StartServer) -> None:
    world = LabWorld.from_text("host.zone.net A 81.2.69.1").drop("host.zone.net")
    server = lab_dns(world)
    started = time.monotonic()
    answer = ask(server, "host.zone.net", "A", timeout=0.5)
    elapsed = time.monotonic() - started
    assert answer.outcome is Outcome.TIMEOUT
    assert elapsed < 1.0
    assert len(server.queried("host.zone.net")) == 2  # one retry within the timeout


def test_long_txt_answer_is_fetched_over_tcp(lab_dns: StartServer) -> None:
    world = LabWorld().add_txt("big.zone.net", *(c * 250 for c in "abcdefgh"))
    server = lab_dns(world)
    answer = ask(server, "big.zone.net", "TXT")
    assert answer.ok
    assert len(answer.records[0]) == 2000
    assert [t for (_, _, t) in server.queried("big.zone.net")] == ["udp", "tcp"]


def test_cname_chain_is_followed_and_reported(lab_dns: StartServer) -> None:
    server = lab_dns(
        "a.zone.net CNAME b.zone.net.\nb.zone.net CNAME c.zone.net.\nc.zone.net A 81.2.69.3"
    )
    answer = ask(server, "a.zone.net", "A")
    assert answer.records == ["81.2.69.3"]
    assert answer.cnames == ("b.zone.net", "c.zone.net")
    assert "CNAME b.zone.net" in answer.evidence()


def test_same_question_in_one_run_is_asked_once(lab_dns: StartServer) -> None:
    server = lab_dns("host.zone.net A 81.2.69.1")
    resolver = Resolver([("127.0.0.1", server.port)], timeout=1)

    async def twice() -> list[Answer]:
        return list(
            await asyncio.gather(*(resolver.query("HOST.zone.net.", "A") for _ in range(5)))
        )

    answers = asyncio.run(twice())
    assert all(a.ok for a in answers)
    assert len(server.queried("host.zone.net")) == 1


def test_second_nameserver_is_tried_when_the_first_refuses(lab_dns: StartServer) -> None:
    refusing = LabWorld.from_text("host.zone.net A 81.2.69.1").refuse("host.zone.net")
    good = lab_dns("host.zone.net A 81.2.69.1")
    bad = lab_dns(refusing)
    resolver = Resolver([("127.0.0.1", bad.port), ("127.0.0.1", good.port)], timeout=1)
    answer = asyncio.run(resolver.query("host.zone.net", "A"))
    assert answer.records == ["81.2.69.1"]


def test_wildcard_answers_any_name_below_it(lab_dns: StartServer) -> None:
    server = lab_dns("*.dead.list A 127.0.0.2")
    assert ask(server, "1.0.0.127.dead.list", "A").records == ["127.0.0.2"]


def test_a_slow_answer_within_the_timeout_counts(lab_dns: StartServer) -> None:
    world = LabWorld.from_text("host.zone.net A 81.2.69.1").slow(0.6, "host.zone.net")
    answer = ask(lab_dns(world), "host.zone.net", "A", timeout=1.0)
    assert answer.records == ["81.2.69.1"]
