"""One ordered list of fixes for a whole report: the worst problems first, each said once."""

from __future__ import annotations

from reputation.report import CheckResult, ListingStatus, Report, Status


def ordered(report: Report) -> list[str]:
    steps: list[str] = []

    def add(step: str) -> None:
        if step and step not in steps:
            steps.append(step)

    def fix(check: CheckResult) -> str:
        return f"{check.id}: {check.remedy}" if check.remedy else ""

    for check in report.checks:
        if check.status is Status.FAIL:
            add(fix(check))
    for listing in report.blocklists:
        if listing.status is ListingStatus.LISTED and listing.severity == "block":
            where = listing.removal_url or "the list's own site"
            add(f"{listing.name}: {listing.query} is listed ({'; '.join(listing.meanings)}); "
                f"fix the cause, then request removal at {where}")  # fmt: skip
    for check in report.checks:
        if check.status is Status.WARN:
            add(fix(check))
    for listing in report.blocklists:
        if listing.status in (ListingStatus.REFUSED, ListingStatus.ERROR) and listing.remedy:
            add(f"{listing.name}: {listing.remedy}")
    for check in report.checks:
        if check.status is Status.ERROR:
            add(fix(check))
    return steps
