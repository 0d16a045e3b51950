"""SPF for the envelope sender and DMARC for the From domain, from the message's real results.

DMARC (RFC 7489 §3.1, §6.6.3) passes when SPF passes for a domain aligned with the From domain,
or a DKIM signature passes for one: relaxed alignment compares organisational domains, strict
the exact names, as the From domain's record says (aspf, adkim).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reputation.checks.dmarc import discover
from reputation.context import organisational_domain
from reputation.dns.cache import Querier
from reputation.inputs import IPAddress
from reputation.message.dkim import Signature
from reputation.protocols import spf
from reputation.protocols.dmarc import DmarcRecord, effective_policy, parse_record
from reputation.records import FlatRecord


@dataclass
class SpfOutcome(FlatRecord):
    result: str
    domain: str  # the domain SPF authenticated: the envelope domain, or the HELO for <>
    identity: str  # mailfrom or helo
    reason: str


@dataclass
class DmarcOutcome(FlatRecord):
    result: str  # pass / fail / none / temperror / permerror
    spf_aligned: bool
    dkim_aligned: bool
    policy: str | None = None
    record_at: str | None = None
    adkim: str = "r"
    aspf: str = "r"
    explanation: list[str] = field(default_factory=list)


def aligned(domain: str, from_domain: str, mode: str) -> bool:
    """RFC 7489 §3.1: strict wants the same name, relaxed the same organisational domain."""
    a, b = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not a or not b:
        return False
    if mode == "s":
        return a == b
    return organisational_domain(a) == organisational_domain(b)


async def evaluate_spf(resolver: Querier, ip: IPAddress, mail_from: str, helo: str) -> SpfOutcome:
    result = await spf.evaluate(resolver, ip, mail_from or None, helo or None)
    return SpfOutcome(str(result.result), result.domain, result.identity, result.reason)


async def evaluate_dmarc(
    resolver: Querier, from_domain: str, spf_outcome: SpfOutcome, signatures: list[Signature]
) -> DmarcOutcome:
    found = await discover(resolver, from_domain, organisational_domain(from_domain))
    if found.unverified is not None:
        return DmarcOutcome("temperror", False, False, explanation=[found.unverified.evidence()])
    if found.found_at is None:
        names = " nor ".join(a.name for a in found.answers)
        return DmarcOutcome("none", False, False, explanation=[f"no DMARC record at {names}"])
    if len(found.records) > 1:
        return DmarcOutcome(
            "permerror",
            False,
            False,
            record_at=found.found_at,
            explanation=[f"{len(found.records)} DMARC records at _dmarc.{found.found_at}"],
        )
    record = parse_record(found.records[0])
    return _judge(record, found.found_at, from_domain, spf_outcome, signatures)


def _judge(
    record: DmarcRecord,
    at: str,
    from_domain: str,
    spf_outcome: SpfOutcome,
    signatures: list[Signature],
) -> DmarcOutcome:
    policy, _ = effective_policy(record, subdomain=at != from_domain)
    if policy is None:
        return DmarcOutcome(
            "permerror", False, False, record_at=at,
            explanation=[f"the record at _dmarc.{at} has no valid policy: {record.raw}"],
        )  # fmt: skip
    mode = {"r": "relaxed", "s": "strict"}
    # With a null MAIL FROM, SPF checks the HELO name, and that is the domain it authenticates
    # (RFC 7208 §2.4, RFC 7489 §3.1.2).
    spf_ok = spf_outcome.result == "pass"
    spf_aligned = spf_ok and aligned(spf_outcome.domain, from_domain, record.aspf)
    passing = [s for s in signatures if s.result == "pass"]
    dkim_aligned = any(aligned(s.domain, from_domain, record.adkim) for s in passing)
    lines = [
        _spf_line(spf_outcome, from_domain, spf_ok, spf_aligned, mode[record.aspf]),
        _dkim_line(signatures, passing, from_domain, dkim_aligned, mode[record.adkim]),
    ]
    result = "pass" if spf_aligned or dkim_aligned else _undecided(signatures, from_domain, record)
    if result != "fail" and result != "pass":
        lines.append(
            "an aligned signature could not be checked in full (a key lookup failed, or the "
            "body is missing), so DMARC is not decided"
        )
    return DmarcOutcome(
        result, spf_aligned, dkim_aligned, policy, at, record.adkim, record.aspf, lines
    )


def _undecided(signatures: list[Signature], from_domain: str, record: DmarcRecord) -> str:
    """Without an aligned pass, a signature that could have aligned but was not fully checked
    leaves DMARC open: temperror for a failed lookup, neutral for a header-only message."""
    candidates = [s for s in signatures if aligned(s.domain, from_domain, record.adkim)]
    if any(s.result == "temperror" for s in candidates):
        return "temperror"
    if any(s.header_only and "signed headers verify" in s.reason for s in candidates):
        return "neutral"
    return "fail"


def _spf_line(outcome: SpfOutcome, from_domain: str, ok: bool, is_aligned: bool, mode: str) -> str:
    if not ok:
        return f"SPF {outcome.result} for {outcome.domain or 'no identity'}: does not count"
    if is_aligned:
        return f"SPF pass for {outcome.domain}, aligned with {from_domain} ({mode})"
    return (
        f"SPF pass for {outcome.domain}, not aligned with {from_domain} ({mode}): "
        "the envelope domain is another organisation's (e.g. the sending service's)"
    )


def _dkim_line(
    signatures: list[Signature],
    passing: list[Signature],
    from_domain: str,
    is_aligned: bool,
    mode: str,
) -> str:
    if not signatures:
        return "no DKIM signature"
    if not passing:
        return "no DKIM signature passes"
    domains = ", ".join(dict.fromkeys(s.domain for s in passing))
    if is_aligned:
        return f"DKIM pass for d={domains}, aligned with {from_domain} ({mode})"
    return f"DKIM pass for d={domains}, none aligned with {from_domain} ({mode})"
