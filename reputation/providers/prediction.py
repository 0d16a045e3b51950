"""Provider predictions: the rules evaluated against a finished report, in three-valued logic.

A rule whose evidence could not be gathered (a lookup failed, a check was not run, a list was
not asked) is "unknown", never "does not apply", so a provider is never said to accept then.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from enum import Enum

from reputation.checks import DESCRIPTIONS
from reputation.providers.rules import FINDING_CHECKS, OUTCOMES, Condition, Provider, Rule
from reputation.report import ListingStatus, ProviderReason, ProviderVerdict, Report, Status

# The findings that leave a finding code undecided: the lookup that would have produced it
# failed or was skipped. A finding not listed is undecided only when its whole check is.
UNDECIDED_BY: dict[str, frozenset[str]] = {
    code: check.undecided(code) for check in DESCRIPTIONS for code in check.codes
}
# Findings that only suggest what they name: (the finding that confirms it, why not decided).
SUGGESTIVE: dict[str, tuple[str, str]] = {
    code: (entry.confirmed_by, entry.why)
    for check in DESCRIPTIONS
    for code, entry in check.codes.items()
    if entry.confirmed_by
}


class Truth(Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


def evaluate(
    providers: Sequence[Provider], report: Report, bulk: bool = False
) -> list[ProviderVerdict]:
    static_ip = report.check("static_ip")
    if static_ip is not None and static_ip.has("ip_not_global"):
        why = f"{report.target.ip} is not a public address: mail from it cannot reach any provider"
        return [ProviderVerdict(p.id, p.name, "unknown", [], [why]) for p in providers]
    return [_verdict(p, report, bulk) for p in providers]


def _verdict(provider: Provider, report: Report, bulk: bool) -> ProviderVerdict:
    fired: list[Rule] = []
    unknown: list[str] = []
    for rule in provider.rules:
        if rule.scope == "bulk" and not bulk:
            continue
        truth, why = _rule_truth(rule, report)
        if truth is Truth.TRUE:
            fired.append(rule)
        elif truth is Truth.UNKNOWN and why not in unknown:
            unknown.append(why)
    fired.sort(key=lambda r: OUTCOMES.index(r.outcome))
    # Two rules that predict the same reply (e.g. a PBL listing seen as a listing and as a
    # dynamic-address finding) are one reason for the user.
    fired = list({(r.outcome, r.reply or r.id): r for r in reversed(fired)}.values())[::-1]
    reasons = [_reason(r) for r in fired]
    if fired:
        return ProviderVerdict(provider.id, provider.name, fired[0].outcome, reasons)
    if unknown:
        return ProviderVerdict(provider.id, provider.name, "unknown", [], unknown)
    return ProviderVerdict(provider.id, provider.name, "accept")


def _reason(rule: Rule) -> ProviderReason:
    return ProviderReason(
        rule=rule.id,
        check="+".join(dict.fromkeys(c.check for c in rule.when)),
        outcome=rule.outcome,
        expected_reply=rule.reply,
        postmaster_url=rule.postmaster_url,
        source=rule.source,
        confidence=rule.confidence,
    )


def _rule_truth(rule: Rule, report: Report) -> tuple[Truth, str]:
    why = ""
    verdict = Truth.TRUE
    for condition in rule.when:
        truth, reason = condition_truth(condition, report)
        if truth is Truth.FALSE:
            return Truth.FALSE, ""
        if truth is Truth.UNKNOWN:
            verdict, why = Truth.UNKNOWN, why or reason
    return verdict, why


def condition_truth(condition: Condition, report: Report) -> tuple[Truth, str]:
    if condition.kind == "listed":
        return _listing_truth(condition, report)
    if condition.name == "ipv6":
        return (Truth.TRUE if ":" in report.target.ip else Truth.FALSE), ""
    check = report.check(FINDING_CHECKS[condition.name])
    if check is None:
        return Truth.UNKNOWN, f"{FINDING_CHECKS[condition.name]} was not run"
    if check.has(condition.name):
        confirming = SUGGESTIVE.get(condition.name)
        if confirming is not None and not check.has(confirming[0]):
            return Truth.UNKNOWN, f"{check.id}: {confirming[1]}"
        return Truth.TRUE, ""
    if check.status is Status.SKIP or check.has("check_incomplete"):
        return Truth.UNKNOWN, f"{check.id}: {check.summary}"
    blocker = next((c for c in sorted(UNDECIDED_BY[condition.name]) if check.has(c)), None)
    if blocker is not None:
        return Truth.UNKNOWN, f"{check.id} could not decide {condition.name} ({blocker})"
    return Truth.FALSE, ""


def _listing_truth(condition: Condition, report: Report) -> tuple[Truth, str]:
    results = [b for b in report.blocklists if b.zone == condition.name]
    if not results:
        return Truth.UNKNOWN, f"{condition.name} was not queried"
    for result in results:
        if result.status is ListingStatus.LISTED and _codes_match(
            condition, result.codes, result.severity
        ):
            return Truth.TRUE, ""
    troubled = [
        r
        for r in results
        if r.status in (ListingStatus.REFUSED, ListingStatus.ERROR, ListingStatus.SKIPPED)
    ]
    if troubled:
        return Truth.UNKNOWN, f"{condition.name} could not be read ({troubled[0].status})"
    return Truth.FALSE, ""


def _codes_match(condition: Condition, codes: list[str], severity: str) -> bool:
    if not condition.codes:
        return severity == "block"
    for code in codes:
        try:
            value = int(ipaddress.IPv4Address(code))
        except ValueError:
            continue
        if any(lo <= value <= hi for lo, hi in condition.codes):
            return True
    return False
