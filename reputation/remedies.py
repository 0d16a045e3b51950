"""One ordered list of fixes for a whole report: the worst problems first, each said once."""

from __future__ import annotations

from reputation.checks import DESCRIPTIONS
from reputation.report import CheckResult, ListingStatus, Report, Status

# From a non-public address nothing about the address can be fixed but the address.
ADDRESS_CHECKS = frozenset(check.id for check in DESCRIPTIONS if check.judges_address)


# Statuses that call for a fix: of a check, and of a listing.
_CHECK_NEEDS = frozenset({Status.FAIL, Status.WARN, Status.ERROR})
_LISTING_NEEDS = frozenset({ListingStatus.LISTED, ListingStatus.REFUSED, ListingStatus.ERROR})


def ordered(report: Report) -> list[str]:
    if not any(c.status in _CHECK_NEEDS for c in report.checks) and not any(
        b.status in _LISTING_NEEDS for b in report.blocklists
    ):
        return []  # most of a fleet: nothing to fix
    steps: list[str] = []

    def add(step: str) -> None:
        if step and step not in steps:
            steps.append(step)

    def fix(check: CheckResult) -> str:
        return f"{check.id}: {check.remedy}" if check.remedy else ""

    unroutable = any(c.has("ip_not_global") for c in report.checks)
    for check in report.checks:
        # From a non-public address nothing about the address can be fixed but the address.
        if unroutable and check.id in ADDRESS_CHECKS:
            continue
        if check.status is Status.FAIL:
            add(fix(check))
    for listing in report.blocklists:
        if listing.status is ListingStatus.LISTED and listing.severity == "block":
            where = listing.removal_url or "the list's own site"
            add(f"{listing.name}: {listing.query} is listed ({'; '.join(listing.meanings)}); "
                f"fix the cause first, then follow the list's delisting procedure at {where}")  # fmt: skip
    for check in report.checks:
        if check.status is Status.WARN and not (unroutable and check.id in ADDRESS_CHECKS):
            add(fix(check))
    for listing in report.blocklists:
        if listing.status in (ListingStatus.REFUSED, ListingStatus.ERROR) and listing.remedy:
            add(f"{listing.name}: {listing.remedy}")
    for check in report.checks:
        if check.status is Status.ERROR:
            add(fix(check))
    return steps
