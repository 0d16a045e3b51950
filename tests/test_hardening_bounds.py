"""Whatever one legal answer holds, the report stays small and names the record concerned."""

from __future__ import annotations

import json

import pytest

from reputation.bounds import MAX_FINDINGS, bounded_check
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.report import CheckResult, Finding, Status
from tests.test_cli import reputation_cli
from tests.worlds import PRECONDITIONS

PTR_NAMES = [f"host{i:04d}.ptr-flood.net" for i in range(1800)]
MAX_REPORT = 2_000_000


@pytest.fixture(scope="module")
def flood() -> LabDNSServer:
    """81.2.69.150 has 1,800 PTR names (one answer, over TCP); the first 900 resolve back."""
    world = LabWorld.from_text(PRECONDITIONS)
    world.add("150.69.2.81.in-addr.arpa", "PTR", *(f"{name}." for name in PTR_NAMES))
    world.load("ptr-flood.net NS ns1.ptr-flood.net.")
    for name in PTR_NAMES[:900]:
        world.add(name, "A", "81.2.69.150")
    with LabDNSServer(world) as server:
        yield server


@pytest.mark.parametrize("fmt", ["json", "table", "markdown"])
def test_a_1800_name_ptr_set_gives_a_small_report(flood: LabDNSServer, fmt: str) -> None:
    done = reputation_cli(
        "check", "clean.net", "81.2.69.150", "--helo", "mail.clean.net", "--no-rdap",
        "--nameserver", flood.address, "--timeout", "1", "--format", fmt,
    )  # fmt: skip
    assert done.returncode in (1, 2, 3), done.stderr
    assert len(done.stdout.encode()) < MAX_REPORT
    assert "1790 more" in done.stdout or "1,790 more" in done.stdout  # counted, not printed


def test_ptr_findings_name_their_own_record(flood: LabDNSServer) -> None:
    done = reputation_cli(
        "check", "clean.net", "81.2.69.150", "--helo", "mail.clean.net", "--no-rdap",
        "--nameserver", flood.address, "--timeout", "1", "--format", "json",
    )  # fmt: skip
    helo_ptr = next(c for c in json.loads(done.stdout)["checks"] if c["id"] == "helo_ptr")
    confirmed = [f for f in helo_ptr["findings"] if f["code"] == "ptr_confirmed"]
    assert confirmed
    for finding in confirmed:
        name = finding["message"].split()[1]
        assert all(
            other not in " ".join(finding["evidence"]) for other in PTR_NAMES if other != name
        )


def test_a_check_with_hundreds_of_findings_keeps_every_code_and_counts_the_rest() -> None:
    findings = [Finding(Status.WARN, f"stray {i}", ["x" * 5000] * 50, "w") for i in range(300)]
    findings.append(Finding(Status.FAIL, "the one that matters", [], "f"))
    result = bounded_check(CheckResult("c", Status.FAIL, "s", findings))
    assert len(result.findings) == MAX_FINDINGS and result.status is Status.FAIL
    assert {f.code for f in result.findings} == {"w", "f", "findings_truncated"}
    assert result.findings[-1].message.startswith("and 277 more findings")
    assert all(len(f.evidence) <= 11 for f in result.findings)
    assert all(len(line) < 1100 for f in result.findings for line in f.evidence)
