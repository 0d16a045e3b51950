"""Stored reports read back exactly, and every check describes its findings in one place."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

import reputation
from reputation.checks import CHECKS, DESCRIPTIONS
from reputation.checks.descriptor import ENGINE_CODES
from reputation.demo import SCENARIOS, world
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.providers import FINDING_CHECKS, evaluate, load_providers, prediction
from reputation.records import FlatRecord
from reputation.report import Finding, ListingStatus, Report, Status, Verdict
from tests.test_cli import reputation_cli
from tests.worlds import PRECONDITIONS


@pytest.fixture(scope="module")
def demo_reports() -> Iterator[list[Report]]:
    with LabDNSServer(world()) as server:
        yield [
            reputation.check(domain, ip, helo, nameservers=[server.address], timeout=2, rdap=False)
            for _, domain, ip, helo in SCENARIOS
        ]


def test_a_report_reads_back_from_its_json_exactly(demo_reports: list[Report]) -> None:
    for report in demo_reports:
        stored = json.loads(json.dumps(report.to_dict()))
        again = Report.from_dict(stored)
        assert again == report
        assert again.to_dict() == report.to_dict()
        assert again.verdict is report.verdict and again.unverified == report.unverified


def test_records_that_spell_out_their_json_write_what_their_fields_declare(
    demo_reports: list[Report],
) -> None:
    """CheckResult, BlocklistResult and ProviderVerdict write their JSON by hand (for speed):
    it must stay the generic writer's, key order included, so no field is ever left out."""
    seen = 0
    for report in demo_reports:
        for record in [*report.checks, *report.blocklists, *report.providers]:
            assert list(record.to_dict().items()) == list(FlatRecord.to_dict(record).items())
            seen += 1
    assert {type(r).__name__ for r in demo_reports[0].blocklists} == {"BlocklistResult"}
    assert any(p.reasons for r in demo_reports for p in r.providers)
    assert seen > 100


def test_a_provider_verdict_depends_on_its_report_only(demo_reports: list[Report]) -> None:
    """Verdicts are remembered by what the rules read; a report must never get another's."""
    chosen = load_providers()
    forward = [evaluate(chosen, report) for report in demo_reports]
    prediction._memos.clear()
    backward = [evaluate(chosen, report) for report in reversed(demo_reports)][::-1]
    assert forward == backward == [report.providers for report in demo_reports]
    assert len({tuple(p.verdict for p in verdicts) for verdicts in forward}) > 3


def test_a_report_is_incomplete_exactly_when_something_could_not_be_verified(
    demo_reports: list[Report],
) -> None:
    variants = []
    for report in demo_reports:
        passing = [c for c in report.checks if c.status is Status.PASS]
        erring = Finding(Status.ERROR, "lookup timed out", [], "check_incomplete")
        variants += [
            report,
            dataclasses.replace(
                report, checks=[c for c in report.checks if c.status is not Status.FAIL]
            ),
            dataclasses.replace(
                report,
                checks=[dataclasses.replace(c, findings=[*c.findings, erring]) for c in passing],
            ),
            dataclasses.replace(
                report,
                checks=passing,
                blocklists=[
                    dataclasses.replace(b, status=ListingStatus.REFUSED) for b in report.blocklists
                ],
            ),
        ]
    for report in variants:
        failing = report.verdict is Verdict.FAIL
        assert failing or (report.verdict is Verdict.INCOMPLETE) == bool(report.unverified)
    assert {r.verdict for r in variants} >= {Verdict.PASS, Verdict.INCOMPLETE, Verdict.FAIL}


def test_only_helo_ptr_from_the_command_line_reads_back(tmp_path: object) -> None:
    with LabDNSServer(LabWorld.from_text(PRECONDITIONS)) as server:
        done = reputation_cli(
            "check", "clean.net", "81.2.69.142", "--only", "helo_ptr",
            "--nameserver", server.address, "--no-rdap", "--format", "json",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert Report.from_dict(printed).to_dict() == printed
    assert [c["id"] for c in printed["checks"] if c["status"] != "skip"] == ["helo_ptr"]


def test_another_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="schema"):
        Report.from_dict({"schema": "someone/else/v9"})


def test_an_assembled_report_cannot_be_changed(demo_reports: list[Report]) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        demo_reports[0].remedies = []  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        demo_reports[0].checks[0].status = "pass"  # type: ignore[misc]


def test_every_finding_a_check_reports_is_declared_by_it(demo_reports: list[Report]) -> None:
    declared = {check.id: set(check.codes) | set(ENGINE_CODES) for check in DESCRIPTIONS}
    for report in demo_reports:
        for result in report.checks:
            assert {f.code for f in result.findings} <= declared[result.id], result.id


def test_an_undeclared_finding_code_is_refused() -> None:
    with pytest.raises(KeyError, match="not declared"):
        DESCRIPTIONS[0].finding("no_such_code", "message")


def test_checks_are_described_once_and_codes_belong_to_one_check() -> None:
    assert [m.CHECK.id for m in CHECKS] == [d.id for d in DESCRIPTIONS]
    codes = [(code, check.id) for check in DESCRIPTIONS for code in check.codes]
    owners: dict[str, set[str]] = {}
    for code, owner in codes:
        owners.setdefault(code, set()).add(owner)
    # ptr_unverified is said by static_ip and helo_ptr alike: both read the PTR.
    shared = {code for code, who in owners.items() if len(who) > 1}
    assert shared == {"ptr_unverified"}
    for check in DESCRIPTIONS:
        for code, entry in check.codes.items():
            assert check.undecided(code) <= set(check.codes), (check.id, code)
            assert entry.remedy or entry.status.value in ("pass", "skip", "error"), code


def test_every_provider_rule_names_a_declared_finding() -> None:
    for provider in load_providers():
        for rule in provider.rules:
            for condition in rule.when:
                if condition.kind == "finding" and condition.name != "ipv6":
                    assert condition.name in FINDING_CHECKS, (provider.id, rule.id)
