"""Registration data: new domains warn, held domains fail, an unreachable RDAP only skips."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

import reputation
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.report import Report, Status
from tests.worlds import WORKING_LISTS, authenticated

WORLD = """
registered.net NS ns1.registered.net.
registered.net MX 10 mail.registered.net.
mail.registered.net A 81.2.69.142
142.69.2.81.in-addr.arpa PTR mail.registered.net.
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LabDNSServer]:
    world = WORLD + authenticated("registered.net") + WORKING_LISTS
    with LabDNSServer(LabWorld.from_text(world)) as s:
        yield s


def rdap_answer(days_ago: int, statuses: list[str]) -> httpx.MockTransport:
    registered = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")
    body = {
        "objectClassName": "domain",
        "ldhName": "registered.net",
        "status": statuses,
        "events": [{"eventAction": "registration", "eventDate": registered}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/domain/registered.net"
        return httpx.Response(
            200, content=json.dumps(body), headers={"content-type": "application/rdap+json"}
        )

    return httpx.MockTransport(handler)


def check(server: LabDNSServer, transport: httpx.AsyncBaseTransport, timeout: float = 2) -> Report:
    return reputation.check(
        "registered.net",
        "81.2.69.142",
        "mail.registered.net",
        nameservers=[server.address],
        timeout=timeout,
        rdap_url="https://rdap.invalid",
        rdap_transport=transport,
    )


def legit(report: Report) -> tuple[Status, set[str]]:
    result = report.check("legit_domain")
    return result.status, {f.code for f in result.findings}


def test_old_registration_passes(server: LabDNSServer) -> None:
    assert legit(check(server, rdap_answer(4000, ["active"]))) == (
        Status.PASS,
        {"domain_ok", "domain_registered"},
    )


def test_registration_under_30_days_warns(server: LabDNSServer) -> None:
    status, found = legit(check(server, rdap_answer(10, ["active"])))
    assert status is Status.WARN and "domain_new" in found


@pytest.mark.parametrize("hold", ["client hold", "server hold"])
def test_hold_status_fails(server: LabDNSServer, hold: str) -> None:
    status, found = legit(check(server, rdap_answer(4000, [hold])))
    assert status is Status.FAIL and "domain_on_hold" in found


def test_rdap_not_found_is_a_skip_not_a_failure(server: LabDNSServer) -> None:
    report = check(server, httpx.MockTransport(lambda request: httpx.Response(404)))
    status, found = legit(report)
    assert status is Status.PASS and "rdap_skipped" in found
    assert str(report.verdict) == "pass"


def test_unreachable_rdap_is_a_skip(server: LabDNSServer) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    report = check(server, httpx.MockTransport(refuse))
    skipped = [f for f in report.check("legit_domain").findings if f.code == "rdap_skipped"]
    assert skipped and "ConnectError" in skipped[0].message
    assert str(report.verdict) == "pass"


def test_slow_rdap_never_delays_the_check_beyond_its_timeout(server: LabDNSServer) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    started = time.monotonic()
    report = check(server, httpx.MockTransport(slow), timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert "rdap_skipped" in legit(report)[1]


def test_registration_date_without_a_zone_is_read_as_utc(server: LabDNSServer) -> None:
    body = {
        "status": ["active"],
        "events": [{"eventAction": "registration", "eventDate": "2020-01-01T00:00:00"}],
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=json.dumps(body)))
    status, found = legit(check(server, transport))
    assert status is Status.PASS and "domain_registered" in found
