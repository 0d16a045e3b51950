"""--check: re-run the checks a bounce points at, for its sender, and say if the cause still holds."""

from __future__ import annotations

from collections.abc import Sequence

from reputation.bounce.model import Analysis, Failure, Sender
from reputation.inputs import BadInput
from reputation.providers import Condition, Rule, Truth, condition_truth, load_providers
from reputation.report import BlocklistResult, ListingStatus, Report, Status
from reputation.session import Session

_PROBLEM = (Status.FAIL, Status.WARN)
NO_CHECK = "no DNS check shows this cause (content, volume or the receiver's own policy)"


def wanted_checks(result: Analysis) -> list[str]:
    """Every check a sender-side cause of this message needs, each once."""
    wanted: list[str] = []
    for failure in result.recipients:
        if failure.side != "sender":
            continue
        for name in failure.checks_needed:
            if name not in wanted:
                wanted.append(name)
    return wanted


async def recheck(results: Sequence[Analysis], override: Sender, session: Session) -> list[str]:
    """Fill still_holds/finding on every sender-side failure; returns one-line problems."""
    problems: list[str] = []
    reports: dict[tuple[str, str, str, tuple[str, ...]], Report] = {}
    for result in results:
        checks = wanted_checks(result)
        if not checks:
            continue
        sender = _sender(result.sender, override)
        if not sender.ip or not sender.domain:
            missing = "sending IP" if not sender.ip else "sender domain"
            problems.append(f"{result.file}: no {missing} in the bounce; give --ip/--domain")
            _unknown(result, f"not checked: the bounce names no {missing} (give --ip/--domain)")
            continue
        key = (sender.domain, sender.ip, sender.helo, tuple(checks))
        if key not in reports:
            try:
                reports[key] = await _check(session, sender, checks)
            except BadInput as exc:  # e.g. a sender domain the bounce spelt wrongly
                problems.append(f"{result.file}: not checked: {exc}")
                _unknown(result, f"not checked: {exc}")
                continue
        for failure in result.recipients:
            if failure.side == "sender" and failure.checks_needed:
                failure.still_holds, failure.finding = _holds(failure, reports[key])
            elif failure.side == "sender":
                failure.finding = NO_CHECK
    return problems


async def _check(session: Session, sender: Sender, checks: list[str]) -> Report:
    """The checks for this sender; a HELO name read from a Received header that the checker
    refuses is dropped rather than losing the check."""
    try:
        return await session.check(sender.domain, sender.ip, sender.helo or None, checks=checks)
    except BadInput:
        if not sender.helo:
            raise
        return await session.check(sender.domain, sender.ip, None, checks=checks)


def _sender(found: Sender, override: Sender) -> Sender:
    return Sender(
        domain=override.domain or found.domain,
        ip=override.ip or found.ip,
        helo=override.helo or (found.helo if not override.ip else ""),
        ip_source="--ip" if override.ip else found.ip_source,
    )


def _unknown(result: Analysis, text: str) -> None:
    for failure in result.recipients:
        if failure.side == "sender":
            failure.still_holds, failure.finding = None, text


def _holds(failure: Failure, report: Report) -> tuple[bool | None, str]:
    """A provider rule decides by its conditions; otherwise the cause holds when any of the
    checks it names finds a problem, and no longer holds when all of them pass."""
    if failure.rule and failure.provider:
        held = _rules_hold(failure, report)
        if held is not None:
            return held
    outcomes = [_one_check(name, failure, report) for name in failure.checks_needed]
    for wanted in (True, None):
        chosen = [finding for holds, finding in outcomes if holds is wanted]
        if chosen:
            return wanted, "; ".join(chosen)
    return False, "; ".join(finding for _, finding in outcomes)


def _one_check(name: str, failure: Failure, report: Report) -> tuple[bool | None, str]:
    if name == "blocklists":
        return _listing_holds(failure, report)
    check = report.check(name)
    if check is None:
        return None, f"{name} did not run"
    if check.status in _PROBLEM:
        return True, f"{name}: {check.summary}"
    if check.status is Status.PASS:
        return False, f"{name}: {check.summary}"
    return None, f"{name}: {check.summary} (could not be verified)"


def _rules_hold(failure: Failure, report: Report) -> tuple[bool | None, str] | None:
    """Several rules may document the same reply (no PTR, PTR not confirmed): the cause holds
    when any of them does; the failure then names that rule."""
    provider = next((p for p in load_providers() if p.id == failure.provider), None)
    matched = next((r for r in provider.rules if r.id == failure.rule), None) if provider else None
    if provider is None or matched is None:
        return None
    same: list[Rule] = [r for r in provider.rules if r.reply == matched.reply]
    outcomes = [(rule, *_rule_holds(rule.when, report)) for rule in same]
    for wanted in (True, None, False):
        for rule, holds, finding in outcomes:
            if holds is wanted:
                failure.rule = rule.id
                return holds, finding
    return None


def _rule_holds(conditions: Sequence[Condition], report: Report) -> tuple[bool | None, str]:
    truths = [condition_truth(c, report) for c in conditions]
    evidence = "; ".join(dict.fromkeys(_evidence(c, report) for c in conditions))
    if any(t is Truth.FALSE for t, _ in truths):
        return False, evidence
    if all(t is Truth.TRUE for t, _ in truths):
        return True, evidence
    unknown = "; ".join(why for t, why in truths if t is Truth.UNKNOWN and why)
    return None, unknown or evidence


def _evidence(condition: Condition, report: Report) -> str:
    if condition.kind == "listed":
        found = [b for b in report.blocklists if b.zone == condition.name]
        return f"{condition.name}: " + (", ".join(str(b.status) for b in found) or "not asked")
    check = report.check(condition.check)
    return f"{condition.check}: {check.summary}" if check else f"{condition.check} did not run"


def _listing_holds(failure: Failure, report: Report) -> tuple[bool | None, str]:
    named = failure.blocklist or {}
    ip_results = [b for b in report.blocklists if b.subject == "ip"]
    own_list = named.get("status") == "unknown"
    if named.get("status") == "active":
        mine = [b for b in ip_results if b.zone == named.get("zone")]
        ip_results = mine or ip_results
    listed = [b for b in ip_results if b.status is ListingStatus.LISTED]
    if listed:
        names = ", ".join(b.name for b in listed)
        return True, f"{listed[0].query} is listed on {names}"
    unsure = [b for b in ip_results if b.status in (ListingStatus.ERROR, ListingStatus.REFUSED)]
    asked = [b for b in ip_results if b.status is ListingStatus.CLEAN]
    if unsure or not asked:
        return None, f"{len(unsure)} of {len(ip_results)} lists could not be read"
    where = "" if named.get("status") == "active" else " that still work"
    retired = named.get("status") == "retired"
    prefix = f"{named.get('zone')} is retired; " if retired else ""
    clean = f"not listed on any of the {len(asked)} lists{where} ({_zones(asked)})"
    if own_list:  # the receiver's own list cannot be asked: the public ones prove nothing
        return None, f"{named.get('zone')} cannot be queried; {clean}"
    return False, prefix + clean


def _zones(results: Sequence[BlocklistResult]) -> str:
    zones = [b.zone for b in results]
    return ", ".join(zones[:4]) + (", ..." if len(zones) > 4 else "")
