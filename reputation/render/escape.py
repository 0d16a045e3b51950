"""Text from DNS made inert: one escaping rule shared by every renderer.

A TXT record or a PTR name is data, not layout. Whatever a zone holds, it must not start a
line of its own, move the cursor, reorder what a reader sees or hide characters: C0 and C1
controls (newlines included), DEL, the bidirectional controls, the zero-width characters and
the Unicode line separators are shown as escapes (``\\x0a``, ``\\u202e``). Remembered secrets
are replaced by their placeholder in the same pass.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from typing import Any

from reputation.redaction import redact

_UNSAFE = re.compile(
    "["
    "\x00-\x1f\x7f-\x9f"  # C0, DEL, C1 (NEL among them)
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidirectional controls
    "\u200b-\u200d\u2060\ufeff\u180e"  # zero-width characters
    "\u2028\u2029"  # line and paragraph separators
    "]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """`text` on one line, every invisible or layout-changing character escaped, no secret."""
    return _UNSAFE.sub(_escape, redact(text))


def inert_copy(value: Any) -> Any:
    """A copy of a report (or any part of one) with every string made inert."""
    if isinstance(value, Enum):  # statuses are str enums: keep them what they are
        return value
    if isinstance(value, str):
        return inert(value)
    if isinstance(value, list):
        return [inert_copy(item) for item in value]
    if isinstance(value, tuple):
        return tuple(inert_copy(item) for item in value)
    if isinstance(value, dict):
        return {inert_copy(k): inert_copy(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: inert_copy(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
        }
        return dataclasses.replace(value, **changes)
    return value


# JSON: json.dumps escapes C0 itself; these it leaves raw, and a terminal or log reader may not.
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)


def json_ascii_escapes(dumped: str) -> str:
    """Dumped JSON with DEL, C1, bidi and zero-width characters as \\uXXXX escapes.

    Safe on the whole document: outside strings JSON holds only ASCII punctuation and words.
    """
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", redact(dumped))


# Markdown: characters that start emphasis, links, HTML, code or table cells inside a line;
# an underscore inside a word (legit_domain) emphasises nothing and stays as it is.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|~#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def markdown_text(text: str) -> str:
    """Inert text that Markdown shows literally: no emphasis, link, HTML or cell break."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", inert(text))


def markdown_code(text: str) -> str:
    """Inert text as a code span, with a delimiter longer than any backtick run inside it."""
    text = inert(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") or longest else text
    return f"{fence}{padded}{fence}"


def markdown_fence(lines: list[str]) -> list[str]:
    """Inert lines as a fenced code block whose fence no line can close."""
    safe = [inert(line) for line in lines]
    longest = max((len(run) for line in safe for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *safe, fence]
