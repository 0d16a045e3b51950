"""A lying resolver is caught before its negative answers are read as facts."""

from __future__ import annotations

import asyncio

import reputation
from reputation.dns.lab import LabWorld
from reputation.dns.resolver import Resolver
from reputation.report import Status, Verdict
from reputation.sanity import NXDOMAIN_FOR_EVERYTHING, REWRITES_NXDOMAIN, probe
from tests.rawdns import RawDNSServer, nxdomain_for_everything
from tests.worlds import PRECONDITIONS


def _probe(address: str, tld: str = "net"):
    host, port = address.rsplit(":", 1)
    return asyncio.run(probe(Resolver(nameservers=[(host, int(port))], timeout=1), tld))


def test_a_resolver_saying_nxdomain_to_everything_is_not_trusted() -> None:
    with RawDNSServer(nxdomain_for_everything) as server:
        sanity = _probe(server.address)
    assert not sanity.trusted and sanity.reason.startswith(NXDOMAIN_FOR_EVERYTHING)


def test_a_resolver_rewriting_nxdomain_is_not_trusted(lab_dns) -> None:
    world = LabWorld.from_text(PRECONDITIONS).load("*.net A 198.51.100.7")  # "search" redirect
    sanity = _probe(lab_dns(world).address)
    assert not sanity.trusted and sanity.reason.startswith(REWRITES_NXDOMAIN)
    assert "198.51.100.7" in sanity.evidence[0]


def test_an_honest_resolver_is_trusted(lab_dns) -> None:
    assert _probe(lab_dns(PRECONDITIONS).address).trusted


def test_a_check_through_a_resolver_saying_nxdomain_to_everything_is_incomplete() -> None:
    with RawDNSServer(nxdomain_for_everything) as server:
        report = reputation.check(
            "clean.net", "81.2.69.142", "mail.clean.net", nameservers=[server.address],
            timeout=0.5, rdap=False,
        )  # fmt: skip
    assert report.verdict is Verdict.INCOMPLETE
    assert any(NXDOMAIN_FOR_EVERYTHING in line for line in report.unverified)
    assert report.check("legit_domain").status is Status.ERROR  # not "does not exist"
    assert not any(p.verdict == "reject" for p in report.providers)


def test_a_check_through_a_resolver_rewriting_nxdomain_is_incomplete(lab_dns) -> None:
    world = LabWorld.from_text(PRECONDITIONS).load("*.net A 198.51.100.7")
    report = reputation.check(
        "clean.net", "81.2.69.142", "mail.clean.net", nameservers=[lab_dns(world).address],
        timeout=0.5, rdap=False,
    )  # fmt: skip
    assert report.verdict is Verdict.INCOMPLETE
    assert any(REWRITES_NXDOMAIN in line for line in report.unverified)


def test_an_honest_resolver_leaves_the_verdict_alone(lab_dns) -> None:
    report = reputation.check(
        "clean.net", "81.2.69.142", "mail.clean.net", nameservers=[lab_dns(PRECONDITIONS).address],
        timeout=1, rdap=False,
    )  # fmt: skip
    assert report.verdict is Verdict.PASS


def test_the_probe_is_asked_once_per_session(lab_dns) -> None:
    server = lab_dns(PRECONDITIONS)

    async def two_senders() -> None:
        async with reputation.Session(nameservers=[server.address], timeout=1, rdap=False) as s:
            await s.check("clean.net", "81.2.69.142", "mail.clean.net")
            await s.check("v6.net", "2a01:4f8:c0c:1234::2", "mail.v6.net")

    asyncio.run(two_senders())
    asked = [(name.rstrip(".").split(".")[0], rdtype) for name, rdtype, _ in server.log]
    assert asked.count(("", "NS")) == 1
    assert len([name for name, _ in asked if name.startswith("nonexistent-")]) == 1
