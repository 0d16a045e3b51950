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
from reputation.report import (
    BlocklistResult,
    ListingStatus,
    ProviderReason,
    ProviderVerdict,
    Report,
    Status,
)

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


# Verdicts already worked out, by what they were worked out from (see _Memo): a fleet audit
# asks the same rules of thousands of reports that differ only in ways no rule reads.
MEMO_ENTRIES = 256


def evaluate(
    providers: Sequence[Provider], report: Report, bulk: bool = False
) -> list[ProviderVerdict]:
    static_ip = report.check("static_ip")
    if static_ip is not None and static_ip.has("ip_not_global"):
        why = f"{report.target.ip} is not a public address: mail from it cannot reach any provider"
        return [ProviderVerdict(p.id, p.name, "unknown", [], [why]) for p in providers]
    memo = _memo_for(providers)
    key = memo.key(report, bulk)
    known = memo.verdicts.get(key)
    if known is None:
        if len(memo.verdicts) >= MEMO_ENTRIES:
            memo.verdicts.clear()
        facts = _Facts(report)
        known = memo.verdicts[key] = tuple(_verdict(p, facts, bulk) for p in providers)
    return list(known)


class _Memo:
    """The verdicts of one set of providers, keyed by everything their rules read of a report:
    each check's id, status, summary and finding codes; the results of the lists the rules
    name (status, codes, severity); whether the address is IPv6; the bulk flag."""

    def __init__(self, providers: tuple[Provider, ...]) -> None:
        self.providers = providers  # held, so that their ids stay theirs while the memo lives
        self.zones = frozenset(
            c.name for p in providers for r in p.rules for c in r.when if c.kind == "listed"
        )
        self.verdicts: dict[tuple, tuple[ProviderVerdict, ...]] = {}

    def key(self, report: Report, bulk: bool) -> tuple:
        zones = self.zones
        return (
            bulk,
            ":" in report.target.ip,
            tuple(
                (c.id, c.status, c.summary, *(f.code for f in c.findings)) for c in report.checks
            ),
            tuple(
                (b.zone, b.status, b.severity, *b.codes)
                for b in report.blocklists
                if b.zone in zones
            ),
        )


_memos: dict[tuple[int, ...], _Memo] = {}


def _memo_for(providers: Sequence[Provider]) -> _Memo:
    ids = tuple(map(id, providers))
    memo = _memos.get(ids)
    if memo is None:
        if len(_memos) >= 16:
            _memos.clear()
        memo = _memos[ids] = _Memo(tuple(providers))
    return memo


class _Facts:
    """A report read once for all the rules: checks and listings by name, each condition's
    truth computed once (many providers share conditions)."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.checks = {c.id: c for c in reversed(report.checks)}  # the first of an id, as check()
        self.codes = {i: frozenset(f.code for f in c.findings) for i, c in self.checks.items()}
        self.listings: dict[str, list[BlocklistResult]] = {}
        for result in report.blocklists:
            self.listings.setdefault(result.zone, []).append(result)
        self.truths: dict[Condition, tuple[Truth, str]] = {}

    def truth(self, condition: Condition) -> tuple[Truth, str]:
        known = self.truths.get(condition)
        if known is None:
            known = self.truths[condition] = _condition_truth(condition, self)
        return known


def _verdict(provider: Provider, facts: _Facts, bulk: bool) -> ProviderVerdict:
    fired: list[Rule] = []
    unknown: list[str] = []
    for rule in provider.rules:
        if rule.scope == "bulk" and not bulk:
            continue
        truth, why = _rule_truth(rule, facts)
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


def _rule_truth(rule: Rule, facts: _Facts) -> tuple[Truth, str]:
    why = ""
    verdict = Truth.TRUE
    for condition in rule.when:
        truth, reason = facts.truth(condition)
        if truth is Truth.FALSE:
            return Truth.FALSE, ""
        if truth is Truth.UNKNOWN:
            verdict, why = Truth.UNKNOWN, why or reason
    return verdict, why


def condition_truth(condition: Condition, report: Report) -> tuple[Truth, str]:
    return _condition_truth(condition, _Facts(report))


def _condition_truth(condition: Condition, facts: _Facts) -> tuple[Truth, str]:
    if condition.kind == "listed":
        return _listing_truth(condition, facts.listings.get(condition.name, []))
    if condition.name == "ipv6":
        return (Truth.TRUE if ":" in facts.report.target.ip else Truth.FALSE), ""
    check_id = FINDING_CHECKS[condition.name]
    check = facts.checks.get(check_id)
    if check is None:
        return Truth.UNKNOWN, f"{check_id} was not run"
    codes = facts.codes[check_id]
    if condition.name in codes:
        confirming = SUGGESTIVE.get(condition.name)
        if confirming is not None and confirming[0] not in codes:
            return Truth.UNKNOWN, f"{check.id}: {confirming[1]}"
        return Truth.TRUE, ""
    if check.status is Status.SKIP or "check_incomplete" in codes:
        return Truth.UNKNOWN, f"{check.id}: {check.summary}"
    blocker = next((c for c in sorted(UNDECIDED_BY[condition.name]) if c in codes), None)
    if blocker is not None:
        return Truth.UNKNOWN, f"{check.id} could not decide {condition.name} ({blocker})"
    return Truth.FALSE, ""


def _listing_truth(condition: Condition, results: list[BlocklistResult]) -> tuple[Truth, str]:
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
