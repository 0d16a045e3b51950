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


@dataclass(frozen=True)
class Reason:
    name: str
    side: str
    check: str
    remedy: str
    source: str
    statuses: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]


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
        )
        for entry in data["reason"]
    )


def by_name(name: str) -> Reason | None:
    return next((r for r in reasons() if r.name == name), None)


def normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def classify(diagnostic: str, status: str, action: str = "", command: str = "") -> str:
    """The reason for one failed recipient."""
    if status.startswith("2.") or action in ("delivered", "relayed", "expanded"):
        return "delivered"
    text = normalise(diagnostic)
    found = _by_text(text) if text else None
    if found == "userunknown" and _filtered(status, command):
        return "filtered"
    if found in ("userunknown", "hostunknown") and command == "MAIL FROM":
        # Refused at MAIL FROM, the unknown address is the envelope sender (sisimai
        # reason/rejected.go: rejected is about the sender's address).
        return "rejected"
    if found == "hostunknown" and status.startswith("4."):
        # A temporary DNS failure is not proof that the domain does not exist (RFC 3463 §3.5:
        # X.4.3 directory server failure), sisimai's networkerror.
        return "networkerror"
    if found:
        return found
    return _by_status(status) or _by_class(status, action, text)


def _filtered(status: str, command: str) -> bool:
    """A "no such user" answer that is the recipient's filter speaking (sisimai
    reason/userunknown.go and filtered.go): an unknown user is believed when the answer was
    to RCPT, or when the status is about addressing (X.1.x) or says nothing else (X.0.x, and
    X.3.x/X.5.x, which many servers misuse). Given to DATA, with a mailbox or policy status
    (X.2.x, X.7.x), or with neither a command nor a status, it is a filter."""
    return command != "RCPT TO" and status[2:4] not in ("1.", "0.", "3.", "5.")


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
