"""The audit writes each report as the JSON line `check --format json` would print, and reads
its counters, CSV rows and changes from a summary that says the same as the report."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator

import pytest

from reputation.audit import changes
from reputation.audit.encode import ReportEncoder
from reputation.demo import SCENARIOS, world
from reputation.dns.lab import LabDNSServer
from reputation.report import Report
from reputation.session import Session

# A full check, a listing scan, and a scan of a private address, for every demo sender; twice,
# so that the second pass meets records the first one already wrote.
RUNS = [None, ["blocklists"], ["blocklists", "static_ip"]]


@pytest.fixture(scope="module")
def reports() -> Iterator[list[Report]]:
    async def check_all(address: str) -> list[Report]:
        async with Session(nameservers=[address], timeout=2, rdap=False) as session:
            return [
                await session.check(domain, ip, helo, checks=checks)
                for _ in range(2)
                for checks in RUNS
                for _, domain, ip, helo in SCENARIOS
            ]

    with LabDNSServer(world()) as server:
        yield asyncio.run(check_all(server.address))


def test_each_line_is_the_reports_json(reports: list[Report]) -> None:
    encoder = ReportEncoder()
    for report in reports:
        _, line = encoder.encode(report)
        assert line == json.dumps(report.to_dict(), ensure_ascii=False)
    assert any(b.status == "listed" for r in reports for b in r.blocklists)
    assert {r.verdict for r in reports} >= {"pass", "fail"}


def test_the_summary_says_what_the_report_says(reports: list[Report]) -> None:
    encoder = ReportEncoder()
    for report in reports:
        summary, _ = encoder.encode(report)
        full = report.to_dict()
        assert summary["target"] == full["target"] and summary["verdict"] == full["verdict"]
        assert summary["unverified"] == full["unverified"]
        for name in ("checks", "blocklists", "providers"):
            assert len(summary[name]) == len(full[name])
            for brief, entry in zip(summary[name], full[name], strict=True):
                assert brief == {key: entry[key] for key in brief}


def test_a_report_seen_after_others_is_written_as_itself(reports: list[Report]) -> None:
    """Records already written are reused by identity: a report never gets another's."""
    forward, backward = ReportEncoder(), ReportEncoder()
    lines = [forward.encode(r)[1] for r in reports]
    assert [backward.encode(r)[1] for r in reversed(reports)][::-1] == lines
    assert len(set(lines)) > len(SCENARIOS) * 2


def test_changes_read_from_stored_lines_are_those_of_the_reports(reports: list[Report]) -> None:
    """Change detection skips parsing a previous report that says the same from its verdict
    on; whatever it skips or parses, it finds what comparing the two reports finds."""
    encoder = ReportEncoder()
    encoded = [encoder.encode(report) for report in reports]
    found_some = skipped_some = False
    for old, (_, old_line) in zip(reports, encoded, strict=True):
        for new, (summary, new_line) in zip(reports, encoded, strict=True):
            expected = changes.between("k", old.to_dict(), new.to_dict())
            assert changes.between_lines("k", old_line, summary, new_line) == expected
            found_some |= bool(expected)
            same_from_verdict = changes._from_verdict(old_line) == changes._from_verdict(new_line)
            skipped_some |= old_line != new_line and same_from_verdict
    assert found_some and skipped_some
    assert changes.between_lines("k", None, encoded[0][0], encoded[0][1])[0]["kind"] == "added"


def test_list_results_with_unusual_text_are_written_exactly(reports: list[Report]) -> None:
    """A result's JSON around its query and removal URL is kept per list and answer; text the
    pieces could be confused with (NUL, quotes, other scripts) still comes out as json.dumps."""
    base = next(r for r in reports if r.blocklists)
    listing = base.blocklists[0]
    odd = [
        dataclasses.replace(listing, query="\x00", removal_url='https://x.test/?q="\\"'),
        dataclasses.replace(listing, detail="\x00", removal_url="\x00"),
        dataclasses.replace(listing, meanings=["Spam-Quelle ü", "\x00"], query="192.0.2.1"),
        dataclasses.replace(listing, txt=["listed: 192.0.2.1"], query="192.0.2.1"),
        dataclasses.replace(listing, query="192.0.2.2", removal_url="https://x.test/192.0.2.2"),
        dataclasses.replace(listing, query="192.0.2.3", removal_url="https://x.test/192.0.2.3"),
    ]
    encoder = ReportEncoder()
    for _ in range(2):
        for result in odd:
            report = dataclasses.replace(base, blocklists=[result, *base.blocklists])
            assert encoder.encode(report)[1] == json.dumps(report.to_dict(), ensure_ascii=False)
