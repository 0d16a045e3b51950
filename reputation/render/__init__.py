"""Renderers: each is a function of a Report (or of a list of them) and returns text."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import TextIO

from reputation.render import json_render, markdown, table
from reputation.render.escape import inert_copy
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
    renderers: dict[Format, Callable[[Report, bool], str]] = {
        Format.TABLE: table.render,
        Format.JSON: json_render.render,
        Format.MARKDOWN: markdown.render,
    }
    if fmt is Format.TABLE:  # Markdown and JSON escape in their own syntax
        report = inert_copy(report)
    return renderers[fmt](report, colour)
