"""The one report model every renderer reads, and the verdict rule.

`Report.to_dict()` is the public JSON contract (schema reputation/report/v1): fields may be
added, never renamed or removed. `Report.from_dict()` reads it back, so stored reports can be
compared: `Report.from_dict(report.to_dict()) == report`. Reports are frozen once assembled.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Self

from reputation.records import FlatRecord, read_fields

SCHEMA = "reputation/report/v1"


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


# Worst first: a failure outranks "could not verify", which outranks a warning.
_SEVERITY = [Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.SKIP]


def worst(statuses: Iterable[Status]) -> Status:
    found = set(statuses)
    return next((s for s in _SEVERITY if s in found), Status.SKIP)


def problem_summary(findings: Iterable[Finding], fallback: str) -> str:
    """The message of the worst problem (fail, then error, then warn), or `fallback` if none."""
    findings = list(findings)
    for status in (Status.FAIL, Status.ERROR, Status.WARN):
        problem = next((f for f in findings if f.status is status), None)
        if problem is not None:
            return problem.message
    return fallback


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    INCOMPLETE = "incomplete"


EXIT_CODES = {Verdict.PASS: 0, Verdict.WARN: 1, Verdict.FAIL: 2, Verdict.INCOMPLETE: 3}
EXIT_BAD_INPUT = 64


@dataclass(frozen=True)
class Finding:
    status: Status
    message: str
    evidence: list[str] = field(default_factory=list)
    code: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "code": self.code,
            "message": self.message,
            "evidence": list(self.evidence),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            Status(data["status"]), data["message"], list(data.get("evidence", [])), data["code"]
        )


# CheckResult, BlocklistResult and ProviderVerdict spell their to_dict() out: a fleet audit
# writes some thirty of them per target. The generic FlatRecord writer gives the same JSON;
# tests/test_report_model.py holds them to it.


@dataclass(frozen=True)
class CheckResult(FlatRecord):
    id: str
    status: Status
    summary: str
    findings: list[Finding] = field(default_factory=list)
    remedy: str = ""

    @classmethod
    def from_findings(
        cls, check_id: str, summary: str, findings: list[Finding], remedies: dict[str, str]
    ) -> CheckResult:
        """Status is the worst finding's; the remedy joins those of the findings that need one."""
        steps: list[str] = []
        for finding in findings:
            step = remedies.get(finding.code, "")
            if finding.status in (Status.FAIL, Status.WARN, Status.ERROR) and step not in steps:
                steps.append(step)
        remedy = " ".join(s for s in steps if s)
        return cls(check_id, worst(f.status for f in findings), summary, findings, remedy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": str(self.status),
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
            "remedy": self.remedy,
        }

    def has(self, code: str) -> bool:
        return any(f.code == code for f in self.findings)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(
            data["id"],
            Status(data["status"]),
            data["summary"],
            [Finding.from_dict(f) for f in data.get("findings", [])],
            data.get("remedy", ""),
        )


class _Flat(FlatRecord):
    """A flat record that reads back from its JSON as well."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(**read_fields(cls, data, cls.KEYS))


class ListingStatus(StrEnum):
    LISTED = "listed"
    CLEAN = "clean"
    REFUSED = "refused"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class BlocklistResult(_Flat):
    zone: str
    name: str
    subject: str  # "ip" or "domain"
    query: str
    status: ListingStatus
    codes: list[str] = field(default_factory=list)
    meanings: list[str] = field(default_factory=list)
    severity: str = ""
    txt: list[str] = field(default_factory=list)
    removal_url: str = ""
    detail: str = ""
    list_id: str = ""
    remedy: str = ""

    KEYS: ClassVar[Mapping[str, str]] = {"list_id": "id"}

    def to_dict(self) -> dict[str, Any]:
        return {
            "zone": self.zone,
            "name": self.name,
            "subject": self.subject,
            "query": self.query,
            "status": str(self.status),
            "codes": list(self.codes),
            "meanings": list(self.meanings),
            "severity": self.severity,
            "txt": list(self.txt),
            "removal_url": self.removal_url,
            "detail": self.detail,
            "id": self.list_id,
            "remedy": self.remedy,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BlocklistResult:
        read = read_fields(cls, data, cls.KEYS)
        return cls(**{**read, "status": ListingStatus(read["status"])})


@dataclass(frozen=True)
class ProviderReason(_Flat):
    rule: str
    check: str
    outcome: str
    expected_reply: str
    postmaster_url: str
    source: str
    confidence: str


@dataclass(frozen=True)
class ProviderVerdict(FlatRecord):
    id: str
    name: str
    verdict: str  # reject / defer / junk / accept / unknown
    reasons: list[ProviderReason] = field(default_factory=list)
    unknown_because: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "verdict": self.verdict,
            "reasons": [r.to_dict() for r in self.reasons],
            "unknown_because": list(self.unknown_because),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProviderVerdict:
        return cls(
            data["id"],
            data["name"],
            data["verdict"],
            [ProviderReason.from_dict(r) for r in data.get("reasons", [])],
            list(data.get("unknown_because", [])),
        )


@dataclass(frozen=True)
class Target(_Flat):
    domain: str
    domain_ascii: str
    ip: str
    helo: str | None
    helo_assumed: bool = False
    from_domain: str | None = None  # the From domain DMARC and DKIM judged, when not `domain`


@dataclass(frozen=True)
class Report:
    target: Target
    started_at: str
    duration_ms: int
    checks: list[CheckResult] = field(default_factory=list)
    blocklists: list[BlocklistResult] = field(default_factory=list)
    providers: list[ProviderVerdict] = field(default_factory=list)
    remedies: list[str] = field(default_factory=list)

    def check(self, check_id: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id), None)

    @property
    def unverified(self) -> list[str]:
        """What could not be verified, one line each."""
        return list(self._unverified_lines())

    def _unverified_lines(self) -> Iterator[str]:
        """The lines of `unverified`, each written only when it is read: the verdict needs
        just the first."""
        for c in self.checks:
            if c.status is Status.ERROR:
                yield f"{c.id}: {c.summary}"
        for c in self.checks:
            if c.status is not Status.ERROR:
                for f in c.findings:
                    if f.status is Status.ERROR:
                        yield f"{c.id}: {f.message}"
        for b in self.blocklists:
            if b.status in (ListingStatus.REFUSED, ListingStatus.ERROR):
                yield f"{b.zone}: {b.status} ({b.detail})"

    @property
    def verdict(self) -> Verdict:
        statuses = {c.status for c in self.checks}
        if Status.FAIL in statuses or any(
            b.status is ListingStatus.LISTED and b.severity == "block" for b in self.blocklists
        ):
            return Verdict.FAIL
        if next(self._unverified_lines(), None) is not None:
            return Verdict.INCOMPLETE
        if Status.WARN in statuses:
            return Verdict.WARN
        return Verdict.PASS

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "target": self.target.to_dict(),
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "verdict": str(self.verdict),
            "checks": [c.to_dict() for c in self.checks],
            "blocklists": [b.to_dict() for b in self.blocklists],
            "providers": [p.to_dict() for p in self.providers],
            "remedies": list(self.remedies),
            "unverified": self.unverified,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """A report read back from its JSON form; verdict and unverified follow from the rest.

        Raises ValueError for another schema and KeyError for a missing field."""
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} report (schema {data.get('schema')!r})")
        return cls(
            target=Target.from_dict(data["target"]),
            started_at=data["started_at"],
            duration_ms=data["duration_ms"],
            checks=[CheckResult.from_dict(c) for c in data.get("checks", [])],
            blocklists=[BlocklistResult.from_dict(b) for b in data.get("blocklists", [])],
            providers=[ProviderVerdict.from_dict(p) for p in data.get("providers", [])],
            remedies=list(data.get("remedies", [])),
        )
