"""Renderers: each is a function of a Report (or of a list of them) and returns text."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, TextIO

from reputation.render.escape import inert_copy

if TYPE_CHECKING:
    from reputation.report import Report


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


def use_colour(stream: TextIO = sys.stdout) -> bool:
    """Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org)."""
    return "NO_COLOR" not in os.environ and stream.isatty()


def render(report: Report, fmt: Format, colour: bool = False) -> str:
    """The report in `fmt`; text from DNS is made inert (see render.escape) in every format."""
    fmt = Format(fmt)
    if fmt is Format.TABLE:  # Markdown and JSON escape in their own syntax
        report = inert_copy(report)
    # Only the format asked for is loaded (a one-off run's start-up time).
    if fmt is Format.JSON:
        from reputation.render import json_render as renderer
    elif fmt is Format.MARKDOWN:
        from reputation.render import markdown as renderer
    else:
        from reputation.render import table as renderer
    return renderer.render(report, colour)
