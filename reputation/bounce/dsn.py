"""RFC 3464 delivery status notifications: the per-message and per-recipient fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

from reputation.bounce.mime import part_text, unfold

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$")
_TYPED = re.compile(r"^\s*[A-Za-z0-9-]+\s*;\s*(.*)$", re.S)


@dataclass
class DsnRecipient:
    address: str
    action: str = ""
    status: str = ""
    remote_mta: str = ""
    diagnostic: str = ""
    original: str = ""


@dataclass
class Dsn:
    reporting_mta: str = ""
    received_from_mta: str = ""
    postfix_sender: str = ""
    recipients: list[DsnRecipient] = field(default_factory=list)


def parse(part: Message) -> Dsn:
    """A message/delivery-status part: the first block per message, then one per recipient."""
    blocks = _blocks(_raw_text(part))
    dsn = Dsn()
    for fields in blocks:
        recipient = _typed(fields.get("final-recipient", "")) or _typed(
            fields.get("original-recipient", "")
        )
        if not recipient:
            dsn.reporting_mta = dsn.reporting_mta or _typed(fields.get("reporting-mta", ""))
            dsn.received_from_mta = dsn.received_from_mta or _typed(
                fields.get("received-from-mta", "")
            )
            dsn.postfix_sender = dsn.postfix_sender or _typed(fields.get("x-postfix-sender", ""))
            continue
        dsn.recipients.append(
            DsnRecipient(
                address=_bare(recipient),
                action=fields.get("action", "").strip().lower(),
                status=fields.get("status", "").strip(),
                remote_mta=_typed(fields.get("remote-mta", "")),
                diagnostic=_typed(fields.get("diagnostic-code", "")),
                original=_bare(_typed(fields.get("original-recipient", ""))),
            )
        )
    return dsn


def _raw_text(part: Message) -> str:
    """The part's text; the email package parses delivery-status into header blocks."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n\n".join(_block_text(block) for block in payload if isinstance(block, Message))
    return part_text(part)


def _block_text(block: Message) -> str:
    lines = [f"{name}: {value}" for name, value in block.items()]
    body = block.get_payload()
    if isinstance(body, str) and body.strip():
        lines.append(body)
    return "\n".join(lines)


def _blocks(text: str) -> list[dict[str, str]]:
    """Field blocks separated by blank lines; continuation lines are unfolded."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
            continue
        match = _FIELD.match(line)
        if line[:1] in (" ", "\t") and last:
            current[last] = f"{current[last]} {line.strip()}"
        elif match:
            last = match.group(1).lower()
            if last not in current:
                current[last] = match.group(2).strip()
        elif last:  # a broken continuation line: keep the text
            current[last] = f"{current[last]} {line.strip()}"
    if current:
        blocks.append(current)
    return blocks


def _typed(value: str) -> str:
    """The value of a typed field ("rfc822; a@b", "smtp; 550 ..."), unfolded."""
    match = _TYPED.match(value)
    return unfold(match.group(1) if match else value)


def _bare(address: str) -> str:
    return address.strip().strip("<>").strip()
