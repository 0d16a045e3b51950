"""`reputation spf`: one SPF evaluation, step by step."""

from __future__ import annotations

from reputation.protocols.spf import SpfResult
from reputation.render.json_render import dumps
from reputation.render.text import printable


def render(result: SpfResult, fmt: str) -> str:
    if fmt == "json":
        return dumps(result.to_dict())
    heading = f"SPF {result.result} for {result.domain} ({result.identity} identity)"
    lines = [
        heading,
        f"DNS lookups: {result.lookups} of 10, void lookups: {result.void_lookups} of 2",
    ]
    if result.explanation:
        lines.append(f"Explanation: {printable(result.explanation)}")
    path = [printable(line) for line in result.lines()]
    if fmt == "markdown":
        return "\n".join([f"## {heading}", "", *lines[1:], "", "```", *path, "```", ""])
    return "\n".join([*lines, "", *path])
