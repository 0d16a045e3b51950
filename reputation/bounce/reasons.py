"""Why a recipient failed: a sisimai reason name from the diagnostic text and the status code.

The knowledge is data (data/bounce_reasons.toml): ordered reasons, each with text patterns and
exact RFC 3463 codes. This module only applies it: text first, in the file's order, then the
exact status, then the status class and subject, then what the action says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from reputation.knowledge import load_data

NOT_BOUNCES = ("vacation", "feedback", "delivered", "onhold", "undefined")
# sisimai 5.6 merged four reasons into two; older labels map onto the current names.
CURRENT_NAMES = {
    "mesgtoobig": "emailtoolarge",
    "exceedlimit": "emailtoolarge",
    "toomanyconn": "ratelimited",
    "speeding": "ratelimited",
}
_SPACE = re.compile(r"\s+")
_CONTINUATION = re.compile(r"(?<![\w.])[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3} )?")
_TRANSCRIPT = re.compile(r"<<<|>>>")  # sendmail's transcript arrows
_GREETING = ("EHLO", "HELO", "INITIAL CONNECTION")


@dataclass(frozen=True)
class Reason:
    name: str
    side: str
    check: str
    remedy: str
    source: str
    statuses: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    decisive: tuple[re.Pattern[str], ...] = ()
    mail_from: tuple[re.Pattern[str], ...] = ()


@cache
def reasons() -> tuple[Reason, ...]:
    data = load_data("bounce_reasons.toml")
    return tuple(
        Reason(
            name=entry["name"],
            side=entry["side"],
            check=entry["check"],
            remedy=entry["remedy"],
            source=entry["source"],
            statuses=tuple(entry["statuses"]),
            patterns=tuple(
                re.compile(p) for p in [*entry["patterns"], *entry.get("faq_patterns", [])]
            ),
            decisive=tuple(re.compile(p) for p in entry.get("decisive_patterns", [])),
            mail_from=tuple(re.compile(p) for p in entry.get("mail_from_patterns", [])),
        )
        for entry in data["reason"]
    )


@dataclass(frozen=True)
class ChecksFor:
    """Checks a bounce text calls for beyond its reason's own (bounce_reasons.toml)."""

    pattern: re.Pattern[str]
    checks: tuple[str, ...]
    remedy: str


@cache
def checks_for() -> tuple[ChecksFor, ...]:
    data = load_data("bounce_reasons.toml")
    return tuple(
        ChecksFor(re.compile(entry["pattern"]), tuple(entry["checks"]), entry["remedy"])
        for entry in data.get("checks_for", [])
    )


def by_name(name: str) -> Reason | None:
    return next((r for r in reasons() if r.name == name), None)


def normalise(text: str) -> str:
    """Lower case, one space, and a multi-line reply's continuation prefixes ("550-5.7.1 ")
    taken out of the middle of the text so that its sentences read whole again."""
    text = _SPACE.sub(" ", _TRANSCRIPT.sub(" ", text)).strip().lower()
    first = _CONTINUATION.search(text)
    if first is None:
        return text
    rest = _CONTINUATION.sub(" ", text[first.end() :])
    return _SPACE.sub(" ", text[: first.end()] + rest)


def classify(
    diagnostic: str, status: str, action: str = "", command: str = "", context: str = ""
) -> str:
    """The reason for one failed recipient. `context`: the MTA's own words about the recipient,
    read when the diagnostic alone names no reason (some MTAs cut long replies in the DSN)."""
    if status.startswith("2.") or action in ("delivered", "relayed", "expanded"):
        return "delivered"
    found: str | None = None
    for source in (diagnostic, context):
        text = normalise(source)
        decisive = next(
            (r.name for r in reasons() if any(p.search(text) for p in r.decisive)), None
        )
        if decisive:
            return decisive
        if command == "MAIL FROM":
            found = next(
                (r.name for r in reasons() if any(p.search(text) for p in r.mail_from)), None
            )
        found = found or (_by_text(text) if text else None)
        if found:
            break
    text = normalise(diagnostic or context)
    found = found or _by_status(status)
    if found == "userunknown" and _filtered(status, command):
        return "filtered"
    if found in ("userunknown", "hostunknown") and command == "MAIL FROM":
        # Refused at MAIL FROM, the unknown address is the envelope sender (sisimai
        # reason/rejected.go: rejected is about the sender's address).
        return "rejected"
    if command in _GREETING and found in (None, "userunknown", "hostunknown"):
        # Refused before any address was given: the client itself (sisimai's last resort,
        # reference/bounce.md §3.5: failure at HELO/EHLO is blocked).
        return "blocked"
    if found == "hostunknown" and (status.startswith("4.") or "not found, try again" in text):
        # A temporary DNS failure is not proof that the domain does not exist (RFC 3463 §3.5:
        # X.4.3 directory server failure; Postfix says "try again"), sisimai's networkerror.
        return "networkerror"
    return found or _by_class(status, action, text)


def _filtered(status: str, command: str) -> bool:
    """A "no such user" answer that is the recipient's filter speaking (sisimai
    reason/userunknown.go and filtered.go): never when the answer was to RCPT; always with a
    mailbox or policy status (X.2.x, X.7.x); after DATA unless the status is specific; and
    when nothing (neither command nor status) pins it on the address."""
    subject = status[2:4]
    if command == "RCPT TO":
        return False
    if subject in ("2.", "7."):
        return True
    if command == "DATA":
        return subject in ("", "0.")
    return not subject


def _by_text(text: str) -> str | None:
    for reason in reasons():
        if any(p.search(text) for p in reason.patterns):
            return reason.name
    return None


def _by_status(status: str) -> str | None:
    if not status:
        return None
    return next((r.name for r in reasons() if status in r.statuses), None)


def _by_class(status: str, action: str, text: str) -> str:
    """sisimai's last resort (reference/bounce.md §3.5): subject class, action, any text."""
    subject = status.split(".")[1] if status.count(".") == 2 else ""
    if subject == "6":
        return "contenterror"
    if subject == "7":
        return "securityerror"
    if action == "delayed":
        return "expired"
    return "onhold" if text else "undefined"
