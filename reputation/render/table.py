"""The terminal table: fits 100 columns, colour only when asked for."""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from reputation.render.text import (
    headline,
    listing_counts,
    listing_order,
    paint,
    problem_findings,
    remedy_lines,
)
from reputation.report import ProviderVerdict, Report

WIDTH = 100


def render(report: Report, colour: bool = False) -> str:
    out = [
        _wrap(headline(report), "  "),
        f"Verdict: {paint(str(report.verdict).upper(), colour)} ({report.duration_ms} ms)",
        "",
        _grid(
            ["check", "status", "summary"],
            [[c.id, paint(str(c.status), colour), c.summary] for c in report.checks],
            [14, 8, 72],
        ),
    ]
    problems = problem_findings(report)
    if problems:
        out += ["", "Findings:"]
        for check_id, status, message, evidence in problems:
            out.append(_wrap(f"- [{paint(status, colour)}] {check_id}: {message}", "  "))
            out += [_wrap(f"    {line}", "      ") for line in evidence]
    if report.blocklists:
        out += ["", f"Blocklists: {listing_counts(report.blocklists)}"]
        shown = listing_order(report.blocklists)
        if shown:
            rows = [
                [
                    b.zone,
                    paint(str(b.status), colour),
                    "; ".join(b.meanings) or b.detail,
                    b.removal_url,
                ]
                for b in shown
            ]
            out.append(_grid(["zone", "status", "meaning", "removal"], rows, [24, 8, 34, 26]))
    if report.providers:
        out += ["", "Providers:"]
        troubled = [p for p in report.providers if p.verdict != "accept"]
        if troubled:
            # Providers that would answer alike share a row.
            groups: dict[tuple[str, ...], list[ProviderVerdict]] = {}
            for p in troubled:
                groups.setdefault((p.verdict, *_main_reason(p)), []).append(p)
            rows = [
                [_names(members), paint(key[0], colour), *key[1:]]
                for key, members in groups.items()
            ]
            out.append(
                _grid(["provider", "verdict", "reason", "expected reply"], rows, [16, 8, 22, 46])
            )
        accepting = [p.name for p in report.providers if p.verdict == "accept"]
        if accepting:
            out.append(_wrap(f"{paint('accept', colour)}: {', '.join(accepting)}", "  "))
    remedies = remedy_lines(report)
    if remedies:
        out += ["", "What to fix:"]
        out += [_wrap(f"{i}. {line}", "   ") for i, line in enumerate(remedies, 1)]
    unverified = report.unverified
    if unverified:
        out += ["", "Could not verify:"]
        out += [_wrap(f"- {line}", "  ") for line in unverified]
    return "\n".join(out)


def _names(members: list[ProviderVerdict]) -> str:
    return members[0].name if len(members) == 1 else ", ".join(p.id for p in members)


def _main_reason(provider: ProviderVerdict) -> list[str]:
    if provider.reasons:
        reason = provider.reasons[0]
        return [reason.rule, reason.expected_reply or "(no documented reply text)"]
    if provider.unknown_because:
        return ["could not verify", "; ".join(provider.unknown_because)]
    return ["", ""]


def _grid(headers: list[str], rows: list[list[str]], widths: list[int]) -> str:
    return tabulate(rows, headers=headers, tablefmt="simple", maxcolwidths=widths)


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, width=WIDTH, subsequent_indent=indent, break_on_hyphens=False)
