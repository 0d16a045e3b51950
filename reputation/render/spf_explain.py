"""`reputation spf`: one SPF evaluation, step by step."""

from __future__ import annotations

from reputation.protocols.spf import SpfResult
from reputation.render.escape import inert, markdown_fence, markdown_text
from reputation.render.json_render import dumps


def render(result: SpfResult, fmt: str) -> str:
    if fmt == "json":
        return dumps(result.to_dict())
    heading = inert(f"SPF {result.result} for {result.domain} ({result.identity} identity)")
    lines = [
        heading,
        f"DNS lookups: {result.lookups} of 10, void lookups: {result.void_lookups} of 2",
    ]
    if result.explanation:
        lines.append(f"Explanation: {inert(result.explanation)}")
    if fmt == "markdown":
        lines = [markdown_text(line) for line in lines]
        path = markdown_fence(result.lines())
        return "\n".join([f"## {lines[0]}", "", *lines[1:], "", *path, ""])
    return "\n".join([*lines, "", *(inert(line) for line in result.lines())])
