"""Renderers for the knowledge itself: the provider rules and the blocklist catalog."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tabulate import tabulate

from reputation.render.escape import inert, markdown_text
from reputation.render.json_render import dumps

if TYPE_CHECKING:
    from reputation.blocklists import Blocklist, Health
    from reputation.providers import Provider


def providers(items: Sequence[Provider], fmt: str, rules: bool) -> str:
    if fmt == "json":
        return dumps([p.to_dict() for p in items])
    tablefmt = "github" if fmt == "markdown" else "simple"
    if not rules:
        rows = [
            [p.id, p.name, len(p.rules), ", ".join(p.uses_blocklists) or "-", p.postmaster_url]
            for p in items
        ]
        headers = ["id", "name", "rules", "blocklists", "postmaster"]
        return tabulate(
            _cells(rows, fmt), headers=headers, tablefmt=tablefmt, maxcolwidths=[10, 20, 5, 24, 36]
        )
    rows = [
        [
            p.id,
            r.id,
            " & ".join(c.name for c in r.when),
            r.outcome,
            r.reply or "(no documented text)",
        ]
        for p in items
        for r in p.rules
    ]
    headers = ["provider", "rule", "when", "outcome", "reply"]
    return tabulate(
        _cells(rows, fmt), headers=headers, tablefmt=tablefmt, maxcolwidths=[9, 16, 20, 7, 34]
    )


def blocklists(items: Sequence[Blocklist], fmt: str) -> str:
    if fmt == "json":
        return dumps([_blocklist_dict(b) for b in items])
    rows = [
        [
            b.zone,
            b.name,
            "/".join(b.subject),
            b.status,
            "yes" if b.default and not b.retired else "no",
            _access(b),
        ]
        for b in items
    ]
    headers = ["zone", "name", "subject", "status", "default", "access"]
    return tabulate(
        _cells(rows, fmt),
        headers=headers,
        tablefmt=_tablefmt(fmt),
        maxcolwidths=[26, 18, 9, 7, 7, 18],
    )


def health(results: Sequence[Health], fmt: str) -> str:
    if fmt == "json":
        return dumps(
            [
                {"zone": h.zone, "name": h.name, "status": h.status, "detail": h.detail}
                for h in results
            ]
        )
    rows = [[h.zone, h.status, h.detail] for h in results]
    return tabulate(
        _cells(rows, fmt),
        headers=["zone", "health", "detail"],
        tablefmt=_tablefmt(fmt),
        maxcolwidths=[28, 16, 50],
    )


def _cells(rows: list[list[object]], fmt: str) -> list[list[str]]:
    """Every cell inert; in Markdown also shown literally (see render.escape)."""
    escape = markdown_text if fmt == "markdown" else inert
    return [[escape(str(cell)) for cell in row] for row in rows]


def _tablefmt(fmt: str) -> str:
    return "github" if fmt == "markdown" else "simple"


def _access(entry: Blocklist) -> str:
    if entry.retired:
        return f"retired {entry.status_date}".strip()
    if entry.key_env:
        return f"key: {entry.key_env}"
    if entry.requires_key:
        return "registration"
    return "public resolvers refused" if entry.public_resolvers_refused else "free"


def _blocklist_dict(entry: Blocklist) -> dict[str, object]:
    return {
        "id": entry.id,
        "zone": entry.zone,
        "name": entry.name,
        "operator": entry.operator,
        "subject": "domain" if entry.subject == ("domain",) else "ip",
        "subjects": list(entry.subject),
        "status": entry.status,
        "status_date": entry.status_date,
        "status_note": entry.status_note,
        "default": entry.default and not entry.retired,
        "match": entry.match,
        "access": entry.access,
        "key_env": entry.key_env,
        "requires_key": entry.requires_key,
        "lookup_url": entry.lookup_url,
        "removal_url": entry.removal_url,
        "sources": list(entry.sources),
    }
