"""Amazon SES notifications: the JSON an SES bounce, complaint or delivery notice carries.

Fields as the SES developer guide documents them
(https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html): `notificationType`,
`bounce.bouncedRecipients[]` (`emailAddress`, `action`, `status`, `diagnosticCode`),
`bounce.reportingMTA`, `complaint.complainedRecipients[]`, `delivery.recipients[]`,
`delivery.smtpResponse`, `mail.source`. Delivered by email directly or wrapped in an SNS
notification whose `Message` is the JSON as a string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from reputation.bounce.dsn import DsnRecipient


@dataclass
class Notice:
    kind: str  # "Bounce", "Complaint" or "Delivery"
    source: str = ""
    recipients: list[DsnRecipient] = field(default_factory=list)


def read(text: str) -> Notice | None:
    """The SES notice in the text, or None when there is none."""
    data = _json_object(text)
    if isinstance(data, dict) and isinstance(data.get("Message"), str):
        data = _json_object(data["Message"])  # wrapped by SNS
    if not isinstance(data, dict) or "notificationType" not in data:
        return None
    kind = str(data["notificationType"])
    notice = Notice(kind=kind, source=str(data.get("mail", {}).get("source", "")))
    notice.recipients = _recipients(kind, data)
    return notice


def _recipients(kind: str, data: dict[str, Any]) -> list[DsnRecipient]:
    if kind == "Bounce":
        bounce = data.get("bounce", {})
        mta = str(bounce.get("reportingMTA", "")).removeprefix("dsn; ")
        return [
            DsnRecipient(
                address=str(r.get("emailAddress", "")),
                action=str(r.get("action", "failed")),
                status=str(r.get("status", "")),
                remote_mta=mta,
                diagnostic=str(r.get("diagnosticCode", "")).removeprefix("smtp; "),
            )
            for r in bounce.get("bouncedRecipients", [])
        ]
    if kind == "Complaint":
        complaint = data.get("complaint", {})
        return [
            DsnRecipient(address=str(r.get("emailAddress", "")))
            for r in complaint.get("complainedRecipients", [])
        ]
    delivery = data.get("delivery", {})
    response = str(delivery.get("smtpResponse", ""))
    return [
        DsnRecipient(address=str(a), action="delivered", diagnostic=response)
        for a in delivery.get("recipients", [])
    ]


def _json_object(text: str) -> Any:
    """The first JSON object in the text; long lines folded by the mail system are rejoined."""
    start = text.find("{")
    if start < 0:
        return None
    body = text[start:]
    for candidate in (body, re.sub(r"\r?\n[ \t]", "", body), re.sub(r"\r?\n", "", body)):
        try:
            value, _ = json.JSONDecoder().raw_decode(candidate)
        except ValueError:
            continue
        return value
    return None
