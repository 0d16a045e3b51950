"""`reputation message`: judge one received message, then check the sender it came from.

Nothing is sent anywhere: the message is read locally, and only DNS questions (and RDAP, unless
turned off) leave the machine.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import ClassVar

from reputation.dns.cache import Querier
from reputation.inputs import BadInput, IPAddress, parse_domain, parse_ip
from reputation.message import alignment, authres, dkim, headers, received
from reputation.message.reading import Message, UnreadableMessage
from reputation.records import FlatRecord

__all__ = ["MessageFacts", "UnreadableMessage", "envelope", "judge"]


@dataclass
class MessageFacts(FlatRecord):
    """What the message says and what verifying it found: the report's `message` object."""

    from_domain: str
    mail_from: str
    ip: str
    helo: str
    received_by: str
    dkim: list[dkim.Signature] = field(default_factory=list)
    spf: alignment.SpfOutcome | None = None
    dmarc: alignment.DmarcOutcome | None = None
    authentication_results: list[authres.ReceiverResult] = field(default_factory=list)
    authentication_results_ignored: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    headers: list[headers.HeaderCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    OMIT: ClassVar[frozenset[str]] = frozenset({"authentication_results_ignored"})

    @property
    def envelope_domain(self) -> str:
        return self.mail_from.rpartition("@")[2] if self.mail_from else ""

    @property
    def selectors(self) -> list[str]:
        """The selectors of the signatures made for the From domain itself: the full check probes
        them there (a service's own signature, d=its domain, names no key of the brand)."""
        return list(
            dict.fromkeys(
                s.selector for s in self.dkim if s.selector and s.domain == self.from_domain
            )
        )


@dataclass(frozen=True)
class Envelope:
    ip: IPAddress
    helo: str
    received_by: str
    mail_from: str
    from_domain: str
    notes: tuple[str, ...] = ()


def envelope(message: Message, ip: str | None = None, helo: str | None = None) -> Envelope:
    """Sending IP, HELO, envelope sender and From domain. Raises UnreadableMessage / BadInput."""
    notes: list[str] = []
    received_by = ""
    if ip is not None:
        address = parse_ip(ip)
        notes.append(f"sending IP {address} given, not read from Received")
    else:
        try:
            boundary = received.find_boundary(message.raw_values("Received"))
        except received.NoBoundary as exc:
            raise UnreadableMessage(f"{exc}; give the sending address with --ip") from None
        address, received_by = boundary.ip, boundary.received_by
        helo = helo if helo is not None else boundary.helo
        notes.append(f"boundary hop: {' '.join(boundary.hop.raw.split())[:160]}")
    mail_from = _return_path(message)
    from_domain = _from_domain(message)
    return Envelope(
        address, (helo or "").lower(), received_by, mail_from, from_domain, tuple(notes)
    )


def _return_path(message: Message) -> str:
    values = message.raw_values("Return-Path")
    if not values:
        raise UnreadableMessage(
            "no Return-Path header field: the envelope sender (MAIL FROM) is unknown; use the "
            "copy as delivered to the mailbox ('Show original'), which carries it"
        )
    path = values[0].strip().removeprefix("<").removesuffix(">").strip()
    if path and "@" not in path:
        raise UnreadableMessage(f"Return-Path {values[0]!r} is not an address")
    if path:
        local, _, domain = path.rpartition("@")
        try:
            path = f"{local}@{parse_domain(domain).ascii}"
        except BadInput as exc:
            raise UnreadableMessage(f"Return-Path {values[0]!r}: {exc}") from None
    return path


def _from_domain(message: Message) -> str:
    addresses = headers.from_addresses(message)
    if not addresses or "@" not in addresses[0]:
        raise UnreadableMessage(
            "no address in the From header field: DMARC and DKIM have no domain to judge"
        )
    try:
        return parse_domain(addresses[0].rpartition("@")[2]).ascii
    except BadInput as exc:
        raise UnreadableMessage(f"From address {addresses[0]!r}: {exc}") from None


async def judge(
    message: Message,
    where: Envelope,
    resolver: Querier,
    *,
    timeout: float,
    bulk: bool = False,
) -> MessageFacts:
    """Verify the signatures, evaluate SPF and DMARC, read the receiver's verdict and the
    header requirements. `resolver`: a Resolver, or a Session's cache so that the check after
    it asks nothing twice; `timeout`: the bound of each DNS question."""
    loop = asyncio.get_running_loop()
    signatures, spf_outcome, arc = await asyncio.gather(
        dkim.verify_all(message, resolver, timeout),
        alignment.evaluate_spf(resolver, where.ip, where.mail_from, where.helo),
        headers.verify_arc(message, dkim.dns_hook(resolver, loop, timeout)),
    )
    dmarc = await alignment.evaluate_dmarc(resolver, where.from_domain, spf_outcome, signatures)
    results, ignored = authres.receiver_results(
        message.raw_values("Authentication-Results"), where.received_by
    )
    return MessageFacts(
        from_domain=where.from_domain,
        mail_from=where.mail_from,
        ip=str(where.ip),
        helo=where.helo,
        received_by=where.received_by,
        dkim=signatures,
        spf=spf_outcome,
        dmarc=dmarc,
        authentication_results=results,
        authentication_results_ignored=ignored,
        disagreements=authres.disagreements(results, spf_outcome, signatures, dmarc),
        headers=headers.check_headers(message, signatures, arc, bulk),
        notes=list(where.notes) + ignored,
    )


def status(facts: MessageFacts) -> str:
    """pass / warn / fail / error for what the message itself shows."""
    header_states = {h.status for h in facts.headers}
    dmarc = facts.dmarc.result if facts.dmarc else "none"
    spf_result = facts.spf.result if facts.spf else "none"
    if "fail" in header_states or dmarc in ("fail", "permerror"):
        return "fail"
    if dmarc == "temperror" or spf_result == "temperror":
        return "error"
    if any(s.result == "temperror" for s in facts.dkim):
        return "error"
    if (
        "warn" in header_states
        or dmarc in ("none", "neutral")
        or any(s.result != "pass" or s.length_limited for s in facts.dkim)
        or facts.disagreements
    ):
        return "warn"
    return "pass"
