"""What the bounce command finds: one Analysis per message, one Failure per recipient."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from reputation.records import FlatRecord


@dataclass
class Failure(FlatRecord):
    address: str
    action: str = ""
    status: str = ""
    reply_code: str = ""
    remote_mta: str = ""
    diagnostic: str = ""
    reason: str = "undefined"
    blocklist: dict[str, Any] | None = None
    provider: str | None = None
    rule: str | None = None
    side: str = ""
    check: str | None = None
    remedy: str = ""
    still_holds: bool | None = None
    finding: str = ""
    command: str = ""
    checks_needed: list[str] = field(default_factory=list)  # for --check; not in the JSON

    OMIT: ClassVar[frozenset[str]] = frozenset({"command", "checks_needed"})


@dataclass
class Sender(FlatRecord):
    """Who sent the message that bounced, as far as the bounce tells."""

    domain: str = ""
    ip: str = ""
    ip_source: str = ""
    helo: str = ""


@dataclass
class Analysis:
    file: str
    kind: str = "other"  # bounce | autoreply | feedback | other
    recipients: list[Failure] = field(default_factory=list)
    error: str = ""
    mta: str = ""
    sender: Sender = field(default_factory=Sender)
    notes: list[str] = field(default_factory=list)

    @property
    def is_bounce(self) -> bool:
        return self.kind == "bounce"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "is_bounce": self.is_bounce,
            "kind": self.kind,
            "error": self.error,
            "mta": self.mta,
            "sender": self.sender.to_dict(),
            "notes": self.notes,
            "recipients": [r.to_dict() for r in self.recipients],
        }
