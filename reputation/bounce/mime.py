"""MIME helpers: decoded headers and text, the report parts and the returned message."""

from __future__ import annotations

import email
import html
import re
from email.header import decode_header, make_header
from email.message import Message

_REPORT_TYPES = ("message/delivery-status", "message/global-delivery-status")
_RETURNED_TYPES = ("message/rfc822", "text/rfc822-headers", "message/global", "message/partial")
_RETURNED_HEADER_TYPES = ("text/rfc822-headers", "message/global-headers")
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"[ \t]+")


def header(message: Message, name: str) -> str:
    """A header decoded to text (RFC 2047), "" when absent; never raises on bad encodings."""
    raw = message.get(name)
    if raw is None:
        return ""
    try:
        return str(make_header(decode_header(str(raw))))
    except (LookupError, ValueError, UnicodeError, email.errors.HeaderParseError):
        return str(raw)


def headers(message: Message, name: str) -> list[str]:
    return [str(value) for value in (message.get_all(name) or [])]


def part_text(part: Message) -> str:
    """The decoded text of a leaf part; an unknown or wrong charset never fails the message."""
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        return inner if isinstance(inner, str) else ""
    assert isinstance(payload, bytes)
    charset = part.get_content_charset() or "utf-8"
    if charset in ("utf-8", "us-ascii") and (b"\x1b$B" in payload or b"\x1b$@" in payload):
        charset = "iso-2022-jp"  # undeclared JIS text: its escape sequences say so (RFC 1468)
    for candidate in (charset, "utf-8"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def html_to_text(text: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", text)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</li>", "\n", text)
    return html.unescape(_TAG.sub(" ", text))


def report_parts(message: Message) -> list[Message]:
    """The delivery-status parts (RFC 3464 / RFC 6533), outside any returned message."""
    return [part for part in _own_parts(message) if part.get_content_type() in _REPORT_TYPES]


def feedback_part(message: Message) -> Message | None:
    return next(
        (p for p in _own_parts(message) if p.get_content_type() == "message/feedback-report"),
        None,
    )


def body_text(message: Message) -> str:
    """The human-readable text the reporting MTA wrote: its text parts, not the returned mail."""
    plain: list[str] = []
    rich: list[str] = []
    for part in _own_parts(message):
        kind = part.get_content_type()
        if part.get_content_maintype() == "multipart" and isinstance(part.get_payload(), str):
            plain.append(part.get_payload())  # boundaries broken: the parts are plain text now
            continue
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        if kind in _RETURNED_HEADER_TYPES:
            continue
        (rich if kind == "text/html" else plain).append(part_text(part))
    rich = [html_to_text(text) for text in rich]
    text = "\n".join(plain) if plain else "\n".join(rich)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def returned_message(message: Message) -> Message | None:
    """The original message (or its headers) that came back with the bounce, if attached."""
    for part in _own_parts(message):
        kind = part.get_content_type()
        if kind in _RETURNED_HEADER_TYPES:
            return email.message_from_string(part_text(part).lstrip())
        if kind in _RETURNED_TYPES:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
            if isinstance(inner, str):
                return email.message_from_string(inner.lstrip())
    return None


def _own_parts(message: Message) -> list[Message]:
    """Every part of the message, not descending into attached messages."""
    found: list[Message] = []
    stack = [message]
    while stack:
        part = stack.pop(0)
        found.append(part)
        if part.get_content_maintype() == "message" and part is not message:
            continue
        inner = part.get_payload()
        if part.is_multipart() and isinstance(inner, list):
            stack[0:0] = [p for p in inner if isinstance(p, Message)]
    return found


def unfold(text: str) -> str:
    return _SPACE.sub(" ", re.sub(r"\s*\n\s*", " ", text)).strip()
