"""Limits that keep a report small and a check quick, whatever the DNS sends.

One legal answer may hold thousands of records (a PTR set of 1,800 names, a DMARC record of
5,000 tags). Reading each, and quoting the whole set as evidence of every finding, made
reports of hundreds of megabytes and checks the deadline could not stop (the work was CPU on
the event loop). So: a check reads at most MAX_RECORDS records of an answer, keeps at most
MAX_FINDINGS findings (the rest counted in one "and N more"), and an evidence line is cut at
MAX_EVIDENCE_CHARS with the number of characters left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TypeVar

from reputation.report import CheckResult, Finding, Status, worst

MAX_RECORDS = 10
MAX_FINDINGS = 25
MAX_EVIDENCE_LINES = 10
MAX_EVIDENCE_CHARS = 1000

T = TypeVar("T")


def first(items: Sequence[T], limit: int = MAX_RECORDS) -> tuple[list[T], int]:
    """The first `limit` items and how many were left unread."""
    return list(items[:limit]), max(len(items) - limit, 0)


def more(count: int, what: str = "more") -> str:
    return f"and {count} {what}" if count else ""


def shorten(line: str, limit: int = MAX_EVIDENCE_CHARS) -> str:
    if len(line) <= limit:
        return line
    return f"{line[:limit]} ... (and {len(line) - limit} more characters)"


def bounded_evidence(lines: Sequence[str]) -> list[str]:
    kept, left = first(lines, MAX_EVIDENCE_LINES)
    shown = [shorten(line) for line in kept]
    return [*shown, f"... and {left} more lines"] if left else shown


def bounded_findings(findings: Sequence[Finding]) -> list[Finding]:
    """At most MAX_FINDINGS findings (plus one per further distinct code, so that whatever
    reads codes, such as provider rules, still sees every one), in their order, each with
    bounded evidence; the rest are counted in one finding of their worst status."""
    if len(findings) <= MAX_FINDINGS:
        return [_bounded(f) for f in findings]
    keep: set[int] = set()
    seen: set[str] = set()
    for index, finding in enumerate(findings):  # the first finding of every code
        if finding.code not in seen:
            seen.add(finding.code)
            keep.add(index)
    rank = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.PASS: 3}
    by_severity = sorted(range(len(findings)), key=lambda i: rank.get(findings[i].status, 4))
    for index in by_severity:
        if len(keep) >= MAX_FINDINGS - 1:
            break
        keep.add(index)
    kept = [_bounded(findings[i]) for i in sorted(keep)]
    dropped = [f for i, f in enumerate(findings) if i not in keep]
    codes = ", ".join(dict.fromkeys(f.code for f in dropped if f.code))
    summary = Finding(
        worst(f.status for f in dropped),
        f"and {len(dropped)} more findings ({codes}) not shown",
        [],
        "findings_truncated",
    )
    return [*kept, summary]


def _bounded(finding: Finding) -> Finding:
    evidence = bounded_evidence(finding.evidence)
    if evidence == finding.evidence and len(finding.message) <= MAX_EVIDENCE_CHARS:
        return finding
    return Finding(finding.status, shorten(finding.message), evidence, finding.code)


def bounded_check(result: CheckResult) -> CheckResult:
    """A check's result with bounded findings and summary; status and remedy as they were."""
    findings = bounded_findings(result.findings)
    summary = shorten(result.summary)
    if findings == result.findings and summary == result.summary:
        return result
    return dataclasses.replace(result, findings=findings, summary=summary)
