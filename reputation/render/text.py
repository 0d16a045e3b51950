"""Pieces shared by the human-readable renderers: the words and lines a report boils down to."""

from __future__ import annotations

from reputation.report import BlocklistResult, ListingStatus, Report, Status

ANSI = {
    "pass": "32", "accept": "32", "clean": "32",
    "warn": "33", "junk": "33", "defer": "33",
    "fail": "31", "reject": "31", "listed": "31",
    "error": "35", "incomplete": "35", "refused": "35", "unknown": "35",
}  # fmt: skip


def paint(word: str, colour: bool) -> str:
    code = ANSI.get(word.lower())
    return f"\x1b[{code}m{word}\x1b[0m" if colour and code else word


def headline(report: Report) -> str:
    t = report.target
    domain = t.domain if t.domain == t.domain_ascii else f"{t.domain} ({t.domain_ascii})"
    helo = f"HELO {t.helo}" if t.helo else "HELO unknown"
    if t.helo_assumed:
        helo += " (assumed: the PTR name; pass --helo to check yours)"
    author = f", From {t.from_domain}" if t.from_domain and t.from_domain != t.domain else ""
    return f"{domain} from {t.ip}, {helo}{author}"


def problem_findings(report: Report) -> list[tuple[str, str, str, list[str]]]:
    """(check id, status, message, evidence) of every finding that is not a pass."""
    return [
        (c.id, str(f.status), f.message, f.evidence)
        for c in report.checks
        for f in c.findings
        if f.status in (Status.FAIL, Status.WARN, Status.ERROR)
    ]


def listing_order(results: list[BlocklistResult]) -> list[BlocklistResult]:
    """Listings first, then what could not be read; clean and skipped ones are only counted."""
    rank = {ListingStatus.LISTED: 0, ListingStatus.REFUSED: 1, ListingStatus.ERROR: 2}
    shown = [b for b in results if b.status in rank]
    return sorted(shown, key=lambda b: (rank[b.status], b.zone))


def listing_counts(results: list[BlocklistResult]) -> str:
    counts = {s: sum(1 for b in results if b.status is s) for s in ListingStatus}
    parts = [f"{n} {s}" for s, n in counts.items() if n]
    return ", ".join(parts) if parts else "none queried"


def remedy_lines(report: Report) -> list[str]:
    return list(report.remedies)
