"""The receiver's own verdict (Authentication-Results, RFC 8601) beside ours, and where they differ.

Only fields whose authserv-id belongs to the receiver count: anyone upstream can write an
Authentication-Results field, and RFC 8601 §5 tells receivers to ignore such fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import authres

from reputation.context import organisational_domain
from reputation.message.alignment import DmarcOutcome, SpfOutcome
from reputation.message.dkim import Signature
from reputation.records import FlatRecord


@dataclass
class ReceiverResult(FlatRecord):
    authserv_id: str
    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


def receiver_results(values: list[str], receiver: str) -> tuple[list[ReceiverResult], list[str]]:
    """The results in the receiver's Authentication-Results fields, and the fields not read."""
    own = organisational_domain(receiver) if receiver else ""
    results: list[ReceiverResult] = []
    unread: list[str] = []
    for value in values:
        try:
            header = authres.AuthenticationResultsHeader.parse_value(value)
        except Exception as exc:  # authres raises its own SyntaxError and others on bad input
            unread.append(f"unparsable Authentication-Results ({exc}): {value[:80]}")
            continue
        server = str(header.authserv_id or "").lower()
        if own and organisational_domain(server) != own:
            unread.append(f"Authentication-Results by {server}, not the receiver {own}: ignored")
            continue
        for item in header.results:
            properties = {f"{p.type}.{p.name}": str(p.value) for p in item.properties}
            results.append(
                ReceiverResult(
                    server, str(item.method).lower(), str(item.result).lower(), properties
                )
            )
    return results, unread


def disagreements(
    results: list[ReceiverResult],
    spf_outcome: SpfOutcome,
    signatures: list[Signature],
    dmarc: DmarcOutcome,
) -> list[str]:
    found: list[str] = []
    for item in results:
        if item.method == "spf" and item.result != spf_outcome.result:
            found.append(
                f"SPF: the receiver says {item.result}, this evaluation {spf_outcome.result} "
                f"(for {spf_outcome.domain})"
            )
        elif (
            item.method == "dmarc"
            and dmarc.result not in ("temperror",)
            and item.result != dmarc.result
        ):
            found.append(f"DMARC: the receiver says {item.result}, this evaluation {dmarc.result}")
        elif item.method == "dkim":
            found += _dkim_disagreement(item, signatures)
    return found


def _dkim_disagreement(item: ReceiverResult, signatures: list[Signature]) -> list[str]:
    domain = (
        item.properties.get("header.d") or item.properties.get("header.i", "").rpartition("@")[2]
    )
    selector = item.properties.get("header.s", "")
    ours = [
        s
        for s in signatures
        if (not domain or s.domain == domain.lower())
        and (not selector or s.selector == selector.lower())
    ]
    if not ours:
        if item.result == "none":
            return []
        return [
            f"DKIM: the receiver reports {item.result} for d={domain or '?'} s={selector or '?'}, a signature this message no longer carries"
        ]
    if any(s.result == item.result for s in ours):
        return []
    mine = ours[0]
    return [
        f"DKIM d={mine.domain} s={mine.selector}: the receiver says {item.result}, this "
        f"evaluation {mine.result} ({mine.reason})"
    ]
