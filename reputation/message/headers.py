"""What the bulk-sender rules look for in the message itself, each with its documented source
(data/message_requirements.toml)."""

from __future__ import annotations

import asyncio
import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

from reputation.knowledge import load_data
from reputation.message.dkim import Signature
from reputation.message.reading import Message
from reputation.records import FlatRecord

# RFC 5322 §3.6: fields that may occur at most once (Date and From exactly once).
SINGLE_INSTANCE = (
    "date", "from", "sender", "reply-to", "to", "cc", "bcc",
    "message-id", "in-reply-to", "references", "subject",
)  # fmt: skip
_MSG_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_ONE_CLICK = re.compile(r"List-Unsubscribe\s*=\s*One-Click", re.IGNORECASE)
_URI = re.compile(r"<([^<>]+)>")


@dataclass(frozen=True)
class Requirement:
    id: str
    scope: str
    title: str
    sources: tuple[dict[str, str], ...]

    @property
    def source(self) -> str:
        """The provider's page where there is one, else the RFC."""
        pages = [s["url"] for s in self.sources if s["provider"] != "rfc"]
        return (pages or [s["url"] for s in self.sources])[0]

    def replies(self) -> list[str]:
        return [f"{s['provider']}: {s['reply']}" for s in self.sources if s.get("reply")]


@dataclass
class HeaderCheck(FlatRecord):
    id: str
    status: str  # pass / warn / fail / skip
    message: str
    source: str
    sources: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)

    KEYS: ClassVar[Mapping[str, str]] = {"replies": "expected_replies"}


@cache
def requirements() -> dict[str, Requirement]:
    data = load_data("message_requirements.toml")
    found = {}
    for entry in data["requirement"]:
        sources = tuple(entry["source"])
        if not sources or not all(s["url"].startswith("https://") for s in sources):
            raise ValueError(f"message_requirements.toml: {entry['id']} needs source URLs")
        found[entry["id"]] = Requirement(entry["id"], entry["scope"], entry["title"], sources)
    return found


def _result(requirement_id: str, status: str, message: str) -> HeaderCheck:
    req = requirements()[requirement_id]
    replies = req.replies() if status in ("fail", "warn") else []
    return HeaderCheck(
        req.id, status, message, req.source, [s["url"] for s in req.sources], replies
    )


def _bulk_gate(requirement_id: str, problem: str | None, ok: str, bulk: bool) -> HeaderCheck:
    if problem is None:
        return _result(requirement_id, "pass", ok)
    if not bulk:
        return _result(requirement_id, "skip", f"{problem} (required of bulk senders: --bulk)")
    req = requirements()[requirement_id]
    providers = (
        ", ".join(s["provider"].capitalize() for s in req.sources if s["provider"] != "rfc")
        or "RFC"
    )
    return _result(requirement_id, "fail", f"{problem}: {providers} require {req.title}")


def check_headers(
    message: Message, signatures: list[Signature], arc: tuple[str, str] | None, bulk: bool
) -> list[HeaderCheck]:
    return [
        list_unsubscribe(message, bulk),
        one_click(message, bulk),
        unsubscribe_signed(message, signatures, bulk),
        message_id(message),
        date(message),
        from_single(message),
        single_instance(message),
        mime_structure(message),
        arc_chain(arc),
    ]


def _uris(message: Message) -> list[str]:
    return [
        u.strip() for value in message.raw_values("List-Unsubscribe") for u in _URI.findall(value)
    ]


def list_unsubscribe(message: Message, bulk: bool) -> HeaderCheck:
    uris = _uris(message)
    usable = [u for u in uris if u.lower().startswith(("https:", "mailto:"))]
    if not message.raw_values("List-Unsubscribe"):
        problem = "no List-Unsubscribe header field"
    elif not usable:
        problem = "List-Unsubscribe holds no https: or mailto: URI in <...>"
    else:
        problem = None
    return _bulk_gate("list_unsubscribe", problem, f"List-Unsubscribe: {', '.join(usable)}", bulk)


def one_click(message: Message, bulk: bool) -> HeaderCheck:
    posts = message.raw_values("List-Unsubscribe-Post")
    https = [u for u in _uris(message) if u.lower().startswith("https:")]
    if not posts:
        problem = "no List-Unsubscribe-Post header field"
    elif not any(_ONE_CLICK.fullmatch(p.strip()) for p in posts):
        problem = f"List-Unsubscribe-Post is {posts[0]!r}, not 'List-Unsubscribe=One-Click'"
    elif not https:
        problem = "List-Unsubscribe-Post is set but List-Unsubscribe has no https: URI to POST to"
    else:
        problem = None
    ok = f"one-click unsubscribe (RFC 8058) to {https[0] if https else ''}"
    return _bulk_gate("one_click_unsubscribe", problem, ok, bulk)


def unsubscribe_signed(message: Message, signatures: list[Signature], bulk: bool) -> HeaderCheck:
    if not message.raw_values("List-Unsubscribe"):
        return _result("unsubscribe_signed", "skip", "no List-Unsubscribe to sign")
    wanted = {"list-unsubscribe"} | (
        {"list-unsubscribe-post"} if message.raw_values("List-Unsubscribe-Post") else set()
    )
    covering = [s for s in signatures if s.result == "pass" and wanted <= set(s.signed_headers)]
    if covering:
        signer = covering[0]
        ok = f"signed by d={signer.domain} s={signer.selector}"
        return _result("unsubscribe_signed", "pass", ok)
    problem = f"no passing DKIM signature covers {' and '.join(sorted(wanted))} (h= must name them)"
    return _bulk_gate("unsubscribe_signed", problem, "", bulk)


def _exactly_one(
    message: Message, name: str, requirement_id: str, absent: str
) -> str | HeaderCheck:
    """The value of a field that must occur exactly once, or the failed check when it does not."""
    values = message.raw_values(name)
    if not values:
        return _result(requirement_id, "fail", absent)
    if len(values) > 1:
        return _result(requirement_id, "fail", f"{len(values)} {name} header fields")
    return values[0]


def message_id(message: Message) -> HeaderCheck:
    value = _exactly_one(message, "Message-ID", "message_id", "no Message-ID header field")
    if isinstance(value, HeaderCheck):
        return value
    if not _MSG_ID.fullmatch(value.strip()):
        return _result(
            "message_id", "fail", f"Message-ID {value!r} is not <left@right> (RFC 5322 §3.6.4)"
        )
    return _result("message_id", "pass", f"Message-ID {value.strip()}")


def date(message: Message) -> HeaderCheck:
    value = _exactly_one(message, "Date", "date", "no Date header field (RFC 5322 requires one)")
    if isinstance(value, HeaderCheck):
        return value
    try:
        email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return _result("date", "fail", f"Date {value!r} is not an RFC 5322 date")
    return _result("date", "pass", f"Date {value}")


def from_addresses(message: Message) -> list[str]:
    """Every address in every From field (group syntax and display names handled)."""
    found: list[str] = []
    for value in message.raw_values("From"):
        found += [addr for _, addr in email.utils.getaddresses([value]) if addr]
    return found


def from_single(message: Message) -> HeaderCheck:
    value = _exactly_one(message, "From", "from_single", "no From header field")
    if isinstance(value, HeaderCheck):
        return value
    addresses = from_addresses(message)
    if len(addresses) != 1 or "@" not in addresses[0]:
        shown = ", ".join(addresses) or value
        return _result(
            "from_single", "fail", f"From must hold exactly one address, it holds: {shown}"
        )
    return _result("from_single", "pass", f"From {addresses[0]}")


def single_instance(message: Message) -> HeaderCheck:
    counts: dict[str, int] = {}
    for name in message.names:
        counts[name.lower()] = counts.get(name.lower(), 0) + 1
    repeated = [f"{name} ({counts[name]}x)" for name in SINGLE_INSTANCE if counts.get(name, 0) > 1]
    if repeated:
        return _result("single_instance_headers", "fail", "duplicated: " + ", ".join(repeated))
    return _result("single_instance_headers", "pass", "no single-instance field is repeated")


def mime_structure(message: Message) -> HeaderCheck:
    defects = [type(d).__name__ for part in message.parsed.walk() for d in part.defects]
    eight_bit = any(b > 0x7F for b in _header_block(message.raw))
    notes = []
    if defects:
        notes.append("MIME defects: " + ", ".join(dict.fromkeys(defects)))
    if eight_bit:
        notes.append("8-bit bytes in the header (allowed only with SMTPUTF8, RFC 6532)")
    if notes:
        return _result("mime_structure", "warn", "; ".join(notes))
    return _result("mime_structure", "pass", "the message and its MIME parts parse cleanly")


def _header_block(raw: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        if separator in raw:
            return raw.split(separator, 1)[0]
    return raw


def arc_chain(arc: tuple[str, str] | None) -> HeaderCheck:
    if arc is None:
        return _result(
            "arc_chain", "skip", "no ARC sets: the message was not forwarded by an ARC sealer"
        )
    result, reason = arc
    if result == "pass":
        return _result("arc_chain", "pass", "the ARC chain validates")
    return _result("arc_chain", "fail", f"the ARC chain does not validate ({result}: {reason})")


async def verify_arc(message: Message, hook: Any) -> tuple[str, str] | None:
    """dkimpy's ARC verification (RFC 8617 §5.2), its key lookups through the same hook."""
    if not message.raw_values("ARC-Seal"):
        return None
    import dkim

    def run() -> tuple[str, str]:
        try:
            cv, _, reason = dkim.ARC(message.raw).verify(dnsfunc=hook)
        except Exception as exc:  # dkimpy raises more than DKIMException on broken sets
            return "fail", f"{type(exc).__name__}: {exc}"
        result = (cv or b"fail").decode() if isinstance(cv, bytes) else str(cv or "fail")
        return result, str(reason)

    return await asyncio.to_thread(run)
