"""The message section of the table and Markdown output (JSON is MessageFacts.to_dict())."""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from reputation.message import MessageFacts, status
from reputation.render.escape import inert

WIDTH = 100


def _rows(facts: MessageFacts) -> list[list[str]]:
    rows = [
        ["From domain", facts.from_domain],
        ["envelope sender", facts.mail_from or "<> (null sender)"],
        ["sending IP / HELO", f"{facts.ip} / {facts.helo or '(none)'}"],
        ["received by", facts.received_by or "(given)"],
    ]
    if facts.spf:
        rows.append(["SPF", f"{facts.spf.result} for {facts.spf.domain}: {facts.spf.reason}"])
    for sig in facts.dkim:
        rows.append(
            [
                f"DKIM d={sig.domain} s={sig.selector}",
                f"{sig.result} ({sig.algorithm}): {sig.reason}",
            ]
        )
    if not facts.dkim:
        rows.append(["DKIM", "no DKIM-Signature"])
    if facts.dmarc:
        d = facts.dmarc
        policy = f", p={d.policy}" if d.policy else ""
        rows.append(["DMARC", f"{d.result}{policy}: " + "; ".join(d.explanation)])
    for result in facts.authentication_results:
        rows.append([f"receiver {result.method}", f"{result.result} ({result.authserv_id})"])
    return [[inert(a), inert(b)] for a, b in rows]


def _header_rows(facts: MessageFacts) -> list[list[str]]:
    return [[h.id, h.status, inert(h.message), h.source] for h in facts.headers]


def table(facts: MessageFacts) -> str:
    out = [f"Message: {status(facts).upper()}", ""]
    out.append(tabulate(_rows(facts), tablefmt="plain", maxcolwidths=[26, 72]))
    out += ["", "Message requirements:"]
    out.append(
        tabulate(
            _header_rows(facts),
            headers=["requirement", "status", "detail", "source"],
            tablefmt="simple",
            maxcolwidths=[22, 6, 38, 26],
        )
    )
    problems = _problems(facts)
    if problems:
        out += ["", "Message problems:"]
        for head, details in problems:
            out.append(_wrap(head))
            out += [_wrap(f"    {line}") for line in details]
    if facts.disagreements:
        out += ["", "The receiver disagrees:"]
        out += [_wrap(f"- {inert(line)}") for line in facts.disagreements]
    if facts.notes:
        out += ["", "Notes:"]
        out += [_wrap(f"- {inert(line)}") for line in facts.notes]
    return "\n".join(out) + "\n\n"


def markdown(facts: MessageFacts) -> str:
    out = [
        f"## reputation message: {facts.from_domain}",
        "",
        f"**Message: {status(facts).upper()}**",
        "",
    ]
    out.append(
        tabulate([[_esc(a), _esc(b)] for a, b in _rows(facts)], headers=["", ""], tablefmt="github")
    )
    out += ["", "### Message requirements", ""]
    rows = [[_esc(c) for c in row] for row in _header_rows(facts)]
    out.append(
        tabulate(rows, headers=["requirement", "status", "detail", "source"], tablefmt="github")
    )
    problems = _problems(facts)
    if problems:
        out += ["", "### Message problems", ""]
    for head, details in problems:
        out.append(f"- {_esc(head)}")
        out += [f"  - {_esc(line)}" for line in details]
    if facts.disagreements:
        out += ["", "### The receiver disagrees", ""]
        out += [f"- {_esc(inert(line))}" for line in facts.disagreements]
    if facts.notes:
        out += ["", "### Notes", ""]
        out += [f"- {_esc(inert(line))}" for line in facts.notes]
    return "\n".join(out) + "\n\n"


def _problems(facts: MessageFacts) -> list[tuple[str, list[str]]]:
    """Each failing or doubtful requirement with every source and the reply it documents."""
    return [
        (
            f"[{h.status}] {h.id}: {inert(h.message)}",
            [*h.sources, *(f"expected reply, {r}" for r in h.replies)],
        )
        for h in facts.headers
        if h.status in ("fail", "warn")
    ]


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=WIDTH, subsequent_indent="  ", break_on_hyphens=False)
