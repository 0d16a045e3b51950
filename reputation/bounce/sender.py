"""Who sent the message that bounced: its domain, and the IP and HELO it was sent from."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import Message
from email.utils import parseaddr

from reputation.bounce import dsn, mime, smtptext
from reputation.bounce.model import Failure, Sender


def find(message: Message, returned: Message | None, failures: Sequence[Failure]) -> Sender:
    """The domain from the envelope sender; the IP, in order of trust: an address the
    diagnostic quotes as the client's, the first hop of the returned copy, the reporting MTA."""
    found = Sender(domain=envelope_sender(message, returned).rpartition("@")[2].lower())
    for failure in failures:
        for ip in smtptext.quoted_ips(failure.diagnostic):
            if smtptext.public_ip(ip):
                found.ip, found.ip_source = ip, "quoted in the diagnostic"
                return found
    hops = [(value, "Received header of the returned message") for value in _first(returned)]
    hops += [
        (value, "Received header of the bounce (the reporting MTA)")
        for value in reversed(mime.headers(message, "Received"))
    ]
    for value, where in hops:
        helo, ip = smtptext.received_hop(value)
        if smtptext.public_ip(ip):
            found.ip, found.helo, found.ip_source = ip, helo, where
            return found
    return found


def _first(returned: Message | None) -> list[str]:
    return mime.headers(returned, "Received")[:1] if returned is not None else []


def envelope_sender(message: Message, returned: Message | None) -> str:
    """Postfix's X-Postfix-Sender, else the returned copy's Return-Path, Sender or From, else
    the address the bounce was sent to."""
    for part in mime.report_parts(message):
        report = dsn.parse(part)
        if "@" in report.postfix_sender:
            return report.postfix_sender.strip("<>")
    if returned is not None:
        for name in ("Return-Path", "Sender", "From"):
            address = parseaddr(mime.header(returned, name))[1]
            if "@" in address:
                return address
    return parseaddr(mime.header(message, "To"))[1]
