"""Markdown: for tickets, wikis and pull requests."""

from __future__ import annotations

from tabulate import tabulate

from reputation.render.escape import markdown_code, markdown_text
from reputation.render.text import (
    headline,
    listing_counts,
    listing_order,
    problem_findings,
    remedy_lines,
)
from reputation.report import Report


def render(report: Report, colour: bool = False) -> str:
    out = [
        f"## reputation check: {markdown_text(headline(report))}",
        "",
        f"**Verdict: {str(report.verdict).upper()}** ({report.duration_ms} ms, {report.started_at})",
        "",
        _table(
            ["check", "status", "summary"], [[c.id, c.status, c.summary] for c in report.checks]
        ),
    ]
    problems = problem_findings(report)
    if problems:
        out += ["", "### Findings", ""]
        for check_id, status, message, evidence in problems:
            out.append(f"- **{status}** {markdown_code(check_id)}: {markdown_text(message)}")
            out += [f"  - {markdown_code(line)}" for line in evidence]
    if report.blocklists:
        out += ["", "### Blocklists", "", markdown_text(listing_counts(report.blocklists)), ""]
        rows = [
            [b.zone, b.status, "; ".join(b.meanings) or b.detail, b.removal_url]
            for b in listing_order(report.blocklists)
        ]
        if rows:
            out.append(_table(["zone", "status", "meaning", "removal"], rows))
    if report.providers:
        rows = [
            [
                p.name,
                p.verdict,
                p.reasons[0].rule if p.reasons else "; ".join(p.unknown_because),
                p.reasons[0].expected_reply if p.reasons else "",
            ]
            for p in report.providers
        ]
        out += [
            "",
            "### Providers",
            "",
            _table(["provider", "verdict", "reason", "expected reply"], rows),
        ]
    remedies = remedy_lines(report)
    if remedies:
        out += ["", "### What to fix", ""]
        out += [f"{i}. {markdown_text(line)}" for i, line in enumerate(remedies, 1)]
    if report.unverified:
        out += ["", "### Could not verify", ""]
        out += [f"- {markdown_text(line)}" for line in report.unverified]
    return "\n".join(out) + "\n"


def _table(headers: list[str], rows: list[list[object]]) -> str:
    cleaned = [[markdown_text(str(cell)) for cell in row] for row in rows]
    return tabulate(cleaned, headers=headers, tablefmt="github", disable_numparse=True)
