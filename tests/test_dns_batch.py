"""Many questions asked as one batch get the same answers, in order, as asked one by one; a
failure stays a failure; the lists of one report are asked in one batch and read as before."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from reputation import blocklists
from reputation.dns.cache import AnswerCache
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.dns.resolver import Outcome, Resolver
from reputation.inputs import parse_ip
from reputation.report import BlocklistResult

StartServer = Callable[[LabWorld | str], LabDNSServer]

ZONE = """
a.zone.net A 81.2.69.1
b.zone.net A 81.2.69.2
alias.zone.net CNAME b.zone.net.
txt.zone.net TXT "v=spf1 -all"
"""


def _resolver(server: LabDNSServer, timeout: float = 1.0) -> Resolver:
    return Resolver([("127.0.0.1", server.port)], timeout=timeout)


def test_a_batch_answers_each_question_in_order(lab_dns: StartServer) -> None:
    world = LabWorld.from_text(ZONE)
    world.servfail("broken.zone.net")
    world.drop("silent.zone.net")
    server = lab_dns(world)
    questions = [
        ("b.zone.net", "A"),
        ("missing.zone.net", "A"),
        ("alias.zone.net", "A"),
        ("txt.zone.net", "TXT"),
        ("broken.zone.net", "A"),
        ("silent.zone.net", "A"),
        ("a.zone.net", "A"),
        ("B.Zone.Net.", "A"),  # the same question as the first, spelt otherwise
    ]
    answers = asyncio.run(_resolver(server, timeout=0.4).query_many(questions))
    assert [a.outcome for a in answers] == [
        Outcome.ANSWER,
        Outcome.NXDOMAIN,
        Outcome.ANSWER,
        Outcome.ANSWER,
        Outcome.SERVFAIL,
        Outcome.TIMEOUT,
        Outcome.ANSWER,
        Outcome.ANSWER,
    ]
    assert answers[0].records == answers[7].records == ["81.2.69.2"]
    assert answers[2].cnames == ("b.zone.net",)
    assert answers[3].records == ["v=spf1 -all"]
    assert answers[6].records == ["81.2.69.1"]
    assert len(server.queried("b.zone.net")) == 1  # asked once for both spellings


def test_a_batch_and_single_questions_in_flight_share_one_query(lab_dns: StartServer) -> None:
    world = LabWorld.from_text(ZONE).slow(0.2, "a.zone.net")
    server = lab_dns(world)
    resolver = _resolver(server)

    async def both() -> tuple[object, list[object]]:
        single = asyncio.ensure_future(resolver.query("a.zone.net", "A"))
        await asyncio.sleep(0.05)  # the single question is on the wire
        batch = await resolver.query_many([("a.zone.net", "A"), ("b.zone.net", "A")])
        return await single, batch

    single, batch = asyncio.run(both())
    assert single is batch[0]
    assert len(server.queried("a.zone.net")) == 1


def test_the_cache_keeps_batch_answers_but_never_a_failure(lab_dns: StartServer) -> None:
    world = LabWorld.from_text(ZONE)
    world.servfail("broken.zone.net")
    server = lab_dns(world)

    async def twice() -> None:
        upstream = Resolver([("127.0.0.1", server.port)], timeout=1.0, memoise=False)
        cache = AnswerCache(upstream)  # as a Session builds it
        questions = [("a.zone.net", "A"), ("broken.zone.net", "A")]
        first = await cache.query_many(questions)
        second = await cache.query_many(questions)
        assert [a.outcome for a in first] == [Outcome.ANSWER, Outcome.SERVFAIL]
        assert second[0] is first[0]
        assert second[1].outcome is Outcome.SERVFAIL

    asyncio.run(twice())
    assert len(server.queried("a.zone.net")) == 1
    assert len(server.queried("broken.zone.net")) >= 2  # asked again: a failure is not kept


def test_a_batch_against_a_silent_server_ends_within_its_timeout(lab_dns: StartServer) -> None:
    world = LabWorld.from_text(ZONE)
    names = [f"h{i}.dead.net" for i in range(300)]  # more than the in-flight limit
    world.drop(*names)
    server = lab_dns(world)
    started = time.monotonic()
    answers = asyncio.run(_resolver(server, timeout=0.5).query_many([(n, "A") for n in names]))
    elapsed = time.monotonic() - started
    assert {a.outcome for a in answers} == {Outcome.TIMEOUT}
    # 300 questions, 256 at a time: two rounds of the timeout, never one round per question
    assert elapsed < 3 * 0.5


def _lists_world() -> tuple[LabWorld, list[blocklists.Blocklist]]:
    catalog = blocklists.load_catalog(None)
    chosen = [b for b in catalog.lists if b.zone in ("bl.spamcop.net", "psbl.surriel.com")]
    world = LabWorld.from_text("")
    for blocklist in chosen:
        world.add(f"2.0.0.127.{blocklist.zone}", "A", "127.0.0.2")
        world.add(f"1.69.2.81.{blocklist.zone}", "A", "127.0.0.2")
        world.add_txt(f"1.69.2.81.{blocklist.zone}", f"listed by {blocklist.zone}")
    world.refuse("2.69.2.81.psbl.surriel.com")
    return world, chosen


def test_lists_asked_in_one_batch_read_as_asked_one_by_one(lab_dns: StartServer) -> None:
    world, chosen = _lists_world()
    server = lab_dns(world)
    ips = [parse_ip(ip) for ip in ("81.2.69.1", "81.2.69.2", "81.2.69.3")]
    asks = [(blocklist, ip, None) for ip in ips for blocklist in chosen]

    async def batch() -> list[list[BlocklistResult] | None]:
        done: list[list[BlocklistResult] | None] = [None] * len(asks)
        await blocklists.lookup_many(_resolver(server), asks, {}, None, done)
        return done

    async def one_by_one() -> list[list[BlocklistResult]]:
        resolver = _resolver(server)
        return [await blocklists.lookup(resolver, b, ip, None, {}) for b, ip, _ in asks]

    together, alone = asyncio.run(batch()), asyncio.run(one_by_one())
    assert together == alone
    statuses = [(r.query, r.zone, str(r.status)) for batch in together for r in batch or []]
    assert ("81.2.69.1", "bl.spamcop.net", "listed") in statuses
    assert ("81.2.69.2", "psbl.surriel.com", "refused") in statuses
    assert ("81.2.69.3", "psbl.surriel.com", "clean") in statuses
    listed = [r for batch in together for r in batch or [] if r.status == "listed"]
    assert {r.txt[0] for r in listed} == {"listed by bl.spamcop.net", "listed by psbl.surriel.com"}
