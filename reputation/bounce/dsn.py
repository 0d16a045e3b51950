"""RFC 3464 delivery status notifications: the per-message and per-recipient fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

from reputation.bounce.mime import part_text, unfold

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$")
_TYPED = re.compile(r"^\s*[A-Za-z0-9/-]+\s*;\s*(.*)$", re.S)
_SOURCE_ROUTE = re.compile(r"^@[^:,]+(?:,@[^:,]+)*:")


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
    return _parse_blocks(_blocks(_raw_text(part)))


def _parse_blocks(blocks: list[dict[str, str]]) -> Dsn:
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
        if "action" not in fields and "status" not in fields:
            continue
        dsn.recipients.append(
            DsnRecipient(
                address=_bare(recipient),
                action=fields.get("action", "").strip().lower(),
                status=_status(fields.get("status", "")),
                remote_mta=_typed(fields.get("remote-mta", "")),
                diagnostic=_typed(fields.get("diagnostic-code", "")),
                original=_bare(_typed(fields.get("original-recipient", ""))),
            )
        )
    return dsn


def parse_text(text: str) -> Dsn:
    """DSN fields found in plain text (a report whose MIME boundaries are broken)."""
    start = re.search(
        r"^(?:Reporting-MTA|Original-Envelope-Id|Final-Recipient):", text, re.M | re.I
    )
    if not start:
        return Dsn()
    return _parse_blocks(_blocks(text[start.start() :]))


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


def _status(value: str) -> str:
    """The code of a Status field, without a trailing comment ("5.1.1 (user unknown)")."""
    match = re.match(r"\s*([245]\.\d{1,3}\.\d{1,3})", value)
    return match.group(1) if match else ""


def _bare(address: str) -> str:
    """The address without angle brackets or an RFC 821 source route (<@relay:user@domain>)."""
    return _SOURCE_ROUTE.sub("", address.strip().strip("<>").strip())
