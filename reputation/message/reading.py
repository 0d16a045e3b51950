"""Reading one message as the recipient received it: bytes in, parsed headers out.

The raw bytes are kept untouched: DKIM signs them, and any re-serialisation would break it.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from typing import BinaryIO

# Gmail, Yahoo and Outlook.com refuse messages over 25 MB (35 MB at Outlook.com), so a larger
# file is not a message any of them received.
MAX_BYTES = 25 * 1024 * 1024
# Header fields of which a message carries at least one, so that a file without any is not one.
_MESSAGE_FIELDS = ("from", "received", "date", "message-id", "dkim-signature", "return-path")


class UnreadableMessage(Exception):
    """The data is not a message we can judge; the text says why (exit 65, EX_DATAERR)."""


@dataclass(frozen=True)
class Message:
    raw: bytes
    parsed: EmailMessage

    def raw_values(self, name: str) -> list[str]:
        """Every value of a header field as written (folding removed, no decoding of words)."""
        wanted = name.lower()
        return [_unfold(value) for key, value in self.parsed.raw_items() if key.lower() == wanted]

    @property
    def names(self) -> list[str]:
        return [key for key, _ in self.parsed.raw_items()]

    @property
    def body(self) -> bytes:
        start = _body_start(self.raw)
        return b"" if start is None else self.raw[start:]


def _unfold(value: object) -> str:
    text = str(value)
    return " ".join(text.replace("\r", "").split("\n")).strip()


def _body_start(raw: bytes) -> int | None:
    """Offset of the body: just past the first empty line; None for a header-only message."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = raw.find(separator)
        if index >= 0:
            return index + len(separator)
    return None


def read(stream: BinaryIO, limit: int = MAX_BYTES) -> Message:
    """Read at most `limit` bytes of one message. Raises UnreadableMessage."""
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise UnreadableMessage(
            f"the message is larger than {limit // (1024 * 1024)} MB, more than Gmail, Yahoo or "
            "Outlook.com accept; it is not judged"
        )
    return parse(raw)


def parse(raw: bytes) -> Message:
    if not raw.strip():
        raise UnreadableMessage("the input is empty: expected one message (RFC 5322)")
    if raw[:5] == b"From " and b"\n" in raw:
        raw = raw[raw.index(b"\n") + 1 :]  # an mbox "From " line, as some downloads keep it
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    names = {key.lower() for key in parsed}
    if not names & set(_MESSAGE_FIELDS):
        raise UnreadableMessage(
            "not a message: no From, Received, Date or Message-ID header field at the top "
            "(expected the full message source, e.g. 'Show original' / 'Download message')"
        )
    return Message(raw, parsed)
