"""Renderers for bounce analyses: table, Markdown and JSON (always an array, one per message)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tabulate import tabulate

from reputation.bounce.model import Analysis, Failure
from reputation.render.escape import inert

_HOLDS = {True: "yes", False: "no", None: "unknown"}


def render(results: Sequence[Analysis], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False)
    if fmt == "markdown":
        return "\n\n".join(_markdown(r) for r in results)
    return "\n\n".join(_table(r) for r in results)


def _title(result: Analysis) -> str:
    if result.error:
        return f"{result.file}: not read: {result.error}"
    mta = f" (written by {result.mta})" if result.mta else ""
    return f"{result.file}: {result.kind}{mta}"


def _lines(failure: Failure, checked: bool) -> list[tuple[str, str]]:
    rows = [
        ("reason", f"{failure.reason} ({_side(failure)})"),
        ("status", " ".join(x for x in (failure.reply_code, failure.status) if x) or "-"),
        ("remote MTA", failure.remote_mta or "-"),
        ("diagnostic", failure.diagnostic or "-"),
    ]
    if failure.blocklist:
        entry = failure.blocklist
        label = (
            entry["name"]
            if entry["name"] == entry["zone"]
            else f"{entry['name']} ({entry['zone']})"
        )
        rows.append(("blocklist", f"{label}: {entry['note']}" if entry["note"] else label))
        if entry["removal_url"]:
            rows.append(("removal", entry["removal_url"]))
    if failure.provider:
        rows.append(
            ("provider", failure.provider + (f", rule {failure.rule}" if failure.rule else ""))
        )
    if failure.check:
        rows.append(("check", failure.check))
    if checked and failure.side == "sender":
        rows.append(("still holds", f"{_HOLDS[failure.still_holds]}: {failure.finding}"))
    if failure.remedy:
        rows.append(("fix", failure.remedy))
    return [(name, inert(value)) for name, value in rows]


def _side(failure: Failure) -> str:
    if failure.side:
        return failure.side
    if failure.reason in ("onhold", "undefined"):
        return "cause not determined"
    return "not a failure"


def _table(result: Analysis) -> str:
    parts = [inert(_title(result))]
    parts += [f"  note: {inert(note)}" for note in result.notes]
    checked = any(f.finding or f.still_holds is not None for f in result.recipients)
    for failure in result.recipients:
        rows = [[name, value[:300]] for name, value in _lines(failure, checked)]
        table = tabulate(rows, tablefmt="plain", maxcolwidths=[12, 80])
        parts.append(f"  {inert(failure.address or '(no address)')}\n" + _indent(table, 4))
    return "\n".join(parts)


def _markdown(result: Analysis) -> str:
    parts = [f"### {_escape(_title(result))}"]
    parts += [f"- note: {_escape(note)}" for note in result.notes]
    checked = any(f.finding or f.still_holds is not None for f in result.recipients)
    for failure in result.recipients:
        rows = _lines(failure, checked)
        parts.append(f"\n**{_escape(failure.address or '(no address)')}**\n")
        parts.append("| field | value |\n|---|---|")
        parts += [f"| {name} | {_escape(value)} |" for name, value in rows]
    return "\n".join(parts)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())
