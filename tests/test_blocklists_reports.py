"""`--only blocklists` reports, word for word: what a fleet of senders gets when lists list them,
refuse, fail, are dead or answer for everything. The expected reports are stored in
tests/fixtures/blocklists_only_reports.json; a change to any of them is a change users see.

Regenerate (after a deliberate change only): REPUTATION_REGENERATE=1 pytest this file.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reputation import Session
from reputation.blocklists import Blocklist, load_catalog, point_name, query_name
from reputation.demo import blocklist_test_points
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.inputs import parse_ip
from tests.test_cli import reputation_cli

StartServer = Callable[[LabWorld | str], LabDNSServer]
EXPECTED = Path(__file__).parent / "fixtures" / "blocklists_only_reports.json"
TIMEOUT = 1.0

# (domain, ip, helo): listed almost everywhere; clean; a subdomain of a listed domain; IPv6;
# a private address (never asked about).
TARGETS = [
    ("listed.net", "81.2.69.66", None),
    ("clean.net", "81.2.69.142", "mail.clean.net"),
    ("news.listed.net", "81.2.69.67", None),
    ("v6.net", "2a01:4f8:c0c:1234::2", None),
    ("private.net", "10.0.0.25", None),
]
LISTED = "81.2.69.66"
DEAD = "sem-black"  # its positive test point is gone: a clean answer proves nothing
WILDCARD = "s5h"  # its negative test point is listed: a listing is not believed
POINT_DROPPED = "blocklist-de"  # its positive test point never answers
NEGATIVE_FAILS = "uceprotect-1"  # its negative test point answers SERVFAIL
REFUSED = "spamcop"  # refuses every question


def _entry(list_id: str) -> Blocklist:
    return next(b for b in load_catalog().default() if b.id == list_id)


def _name(list_id: str, subject: str) -> str:
    """The question `list_id` is asked about an IP address or a domain."""
    zone = _entry(list_id).zone
    if subject[0].isalpha() and ":" not in subject:
        return f"{query_name(subject, 'domain')}.{zone}"
    ip = parse_ip(subject)
    return f"{query_name(str(ip), f'ip{ip.version}')}.{zone}"


def fleet_world() -> LabWorld:
    lists = [b for b in load_catalog().default() if b.id != DEAD]
    world = LabWorld.from_text(blocklist_test_points(lists))
    listings = [
        ("spamhaus-zen", LISTED, "127.0.0.2"),
        ("spamhaus-zen", "2a01:4f8:c0c:1234::2", "127.0.0.3"),
        ("spamhaus-dbl", "listed.net", "127.0.1.2"),
        ("mailspike-bl", LISTED, "127.0.0.250"),
        ("psbl", LISTED, "127.0.0.2"),
        ("dronebl", LISTED, "127.0.0.3"),
        (DEAD, LISTED, "127.0.0.2"),
        (WILDCARD, LISTED, "127.0.0.2"),
        (POINT_DROPPED, LISTED, "127.0.0.2"),
        (NEGATIVE_FAILS, LISTED, "127.0.0.2"),
    ]
    for list_id, subject, value in listings:
        world.add(_name(list_id, subject), "A", value)
    world.add_txt(_name("spamhaus-zen", LISTED), "https://check.spamhaus.org/sbl/query/SBL123")
    world.add(point_name("127.0.0.1", _entry(WILDCARD).zone), "A", "127.0.0.2")
    world.drop(point_name(_entry(POINT_DROPPED).test_listed, _entry(POINT_DROPPED).zone))
    world.servfail(point_name("127.0.0.1", _entry(NEGATIVE_FAILS).zone))
    world.refuse(f"*.{_entry(REFUSED).zone}")
    world.servfail(_name("spamrats-dyna", "81.2.69.142"))  # one answer of one list fails
    return world


def stable(report: dict[str, Any], address: str) -> dict[str, Any]:
    """The report without its timings, the lab server's port replaced by a fixed one."""
    report = {k: v for k, v in report.items() if k not in ("started_at", "duration_ms")}
    return json.loads(json.dumps(report).replace(address, "127.0.0.1:53"))


def expected() -> list[dict[str, Any]]:
    return json.loads(EXPECTED.read_text())


async def _through_session(address: str, together: bool) -> list[dict[str, Any]]:
    async with Session(nameservers=[address], timeout=TIMEOUT, rdap=False) as session:
        asks = [session.check(*target, checks=["blocklists"]) for target in TARGETS]
        if together:
            reports = await asyncio.gather(*asks)
        else:
            reports = [await ask for ask in asks]
    return [stable(r.to_dict(), address) for r in reports]


def test_blocklists_only_reports_are_unchanged_one_by_one_and_all_at_once(
    lab_dns: StartServer,
) -> None:
    server = lab_dns(fleet_world())
    one_by_one = asyncio.run(_through_session(server.address, together=False))
    if os.environ.get("REPUTATION_REGENERATE"):
        EXPECTED.write_text(json.dumps(one_by_one, indent=1, ensure_ascii=False) + "\n")
    assert one_by_one == expected()
    assert asyncio.run(_through_session(server.address, together=True)) == expected()


def test_an_audit_writes_the_same_reports(lab_dns: StartServer, tmp_path: Path) -> None:
    server = lab_dns(fleet_world())
    targets = tmp_path / "targets.txt"
    targets.write_text("".join(" ".join(t for t in target if t) + "\n" for target in TARGETS))
    done = reputation_cli(
        "audit", str(targets), "--only", "blocklists", "--nameserver", server.address,
        "--no-rdap", "--timeout", str(TIMEOUT), "--format", "jsonl",
        "--db", str(tmp_path / "history.db"),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr  # listed targets fail
    reports = [stable(json.loads(line), server.address) for line in done.stdout.splitlines()]
    by_target = {(r["target"]["domain"], r["target"]["ip"]): r for r in reports}
    want = expected()
    assert len(by_target) == len(want)
    for report in want:
        assert by_target[(report["target"]["domain"], report["target"]["ip"])] == report


def test_the_stored_reports_show_every_kind_of_answer() -> None:
    """The fixture itself covers what it claims: listings, errors of each cause, clean answers."""
    details = [(b["id"], b["status"], b["detail"]) for r in expected() for b in r["blocklists"]]
    statuses = {status for _, status, _ in details}
    assert {"listed", "clean", "error", "refused"} <= statuses
    by_list = {(list_id, status): detail for list_id, status, detail in details}
    assert "looks empty" in by_list[(DEAD, "error")]
    assert "lists everything" in by_list[(WILDCARD, "error")]
    assert "could not be checked" in by_list[(POINT_DROPPED, "error")]
    assert "wildcard cannot be ruled out" in by_list[(NEGATIVE_FAILS, "error")]
    assert re.search("SERVFAIL", by_list[("spamrats-dyna", "error")])
    assert (REFUSED, "refused") in by_list
