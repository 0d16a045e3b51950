"""What the bounce command finds: one Analysis per message, one Failure per recipient."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Failure:
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "action": self.action,
            "status": self.status,
            "reply_code": self.reply_code,
            "remote_mta": self.remote_mta,
            "diagnostic": self.diagnostic,
            "reason": self.reason,
            "blocklist": self.blocklist,
            "provider": self.provider,
            "rule": self.rule,
            "side": self.side,
            "check": self.check,
            "remedy": self.remedy,
            "still_holds": self.still_holds,
            "finding": self.finding,
        }


@dataclass
class Sender:
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
            "sender": {
                "domain": self.sender.domain,
                "ip": self.sender.ip,
                "ip_source": self.sender.ip_source,
                "helo": self.sender.helo,
            },
            "notes": self.notes,
            "recipients": [r.to_dict() for r in self.recipients],
        }
