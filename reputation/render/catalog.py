"""Renderers for the knowledge itself: the provider rules and the blocklist catalog."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tabulate import tabulate

from reputation.render.json_render import dumps

if TYPE_CHECKING:
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
        return tabulate(rows, headers=headers, tablefmt=tablefmt, maxcolwidths=[10, 20, 5, 24, 36])
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
    return tabulate(rows, headers=headers, tablefmt=tablefmt, maxcolwidths=[9, 16, 20, 7, 34])
