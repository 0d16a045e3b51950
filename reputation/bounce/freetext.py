"""Free-text bounces: which MTA wrote it, the failed recipients and the text about each.

The MTA knowledge is data (data/bounce_formats.toml); the scan itself is generic: the report
ends where the returned message begins, each failed address owns the text up to the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from reputation.knowledge import load_data

ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\"-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SENDER_CONTEXT = re.compile(
    r"(?:mail from|from|sender|envelope-from|reply-to|return-path|message-id|sent by|contact|"
    r"send (?:e-?mail|mail|a message) to|write to|mailto)\s*[:=]?\s*<?$",
    re.I,
)
_SERVICE_LOCALS = ("mailer-daemon", "postmaster", "no-reply", "noreply", "abuse")
MAX_DIAGNOSTIC = 1000


@dataclass(frozen=True)
class Format:
    id: str
    name: str
    source: str
    detect: tuple[re.Pattern[str], ...]
    returned: tuple[re.Pattern[str], ...]
    recipient: tuple[re.Pattern[str], ...]
    reason: str = ""
    command: str = ""
    diagnostic: re.Pattern[str] | None = None


@dataclass
class TextRecipient:
    address: str
    text: str


@cache
def formats() -> tuple[tuple[Format, ...], tuple[re.Pattern[str], ...]]:
    data = load_data("bounce_formats.toml")
    shared = tuple(re.compile(p, re.M) for p in data["returned"])
    found = tuple(
        Format(
            id=entry["id"],
            name=entry["name"],
            source=entry["source"],
            detect=tuple(re.compile(p) for p in entry["detect"]),
            returned=tuple(re.compile(p, re.M) for p in entry["returned"]),
            recipient=tuple(re.compile(p) for p in entry["recipient"]),
            reason=entry.get("reason", ""),
            command=entry.get("command", ""),
            diagnostic=re.compile(entry["diagnostic"]) if entry.get("diagnostic") else None,
        )
        for entry in data["format"]
    )
    return found, shared


def detect(sender: str, subject: str, text: str) -> Format | None:
    known, _ = formats()
    for fmt in known:
        for pattern in fmt.detect:
            if pattern.search(text) or pattern.search(subject) or pattern.search(sender):
                return fmt
    return None


def report_section(text: str, fmt: Format | None) -> str:
    """The text before the returned message."""
    _, shared = formats()
    patterns = (*(fmt.returned if fmt else ()), *shared)
    end = len(text)
    for pattern in patterns:
        match = pattern.search(text)
        if match and match.start() > 0:
            end = min(end, match.start())
    return text[:end]


def recipients(
    section: str, fmt: Format | None, exclude: set[str], exclude_named: set[str] | None = None
) -> list[TextRecipient]:
    """Failed recipients in the report text, each with the text that concerns it.

    `exclude`: addresses that are never failed recipients when found by the generic scan (the
    sender's); `exclude_named`: those never taken even where the MTA's own recipient line names
    them (default: `exclude`)."""
    named = exclude if exclude_named is None else exclude_named
    spots = _format_spots(section, fmt, named) or _generic_spots(section, exclude)
    # Each address owns its whole line (many MTAs write the error before the address), up to
    # the next line that names another of the failed addresses.
    lines = {address: _line_starts(section, address) for address, _ in spots}
    found: list[TextRecipient] = []
    for address, start in spots:
        begin = section.rfind("\n", 0, start) + 1
        others = [s for a, starts in lines.items() if a != address for s in starts if s > begin]
        end = min(others, default=len(section))
        found.append(TextRecipient(address, section[begin:end][: MAX_DIAGNOSTIC * 4]))
    return found


def _line_starts(section: str, address: str) -> list[int]:
    lower, wanted = section.lower(), address.lower()
    starts, spot = [], lower.find(wanted)
    while spot >= 0:
        starts.append(section.rfind("\n", 0, spot) + 1)
        spot = lower.find(wanted, spot + 1)
    return starts


def _format_spots(section: str, fmt: Format | None, exclude: set[str]) -> list[tuple[str, int]]:
    if fmt is None:
        return []
    spots: list[tuple[str, int]] = []
    for pattern in fmt.recipient:
        for match in pattern.finditer(section):
            address = clean_address(match.group("addr"))
            if address and address.lower() not in exclude:
                spots.append((address, match.start()))
    return _first_of_each(sorted(spots, key=lambda spot: spot[1]))


def _generic_spots(section: str, exclude: set[str]) -> list[tuple[str, int]]:
    spots: list[tuple[str, int]] = []
    for match in ADDRESS.finditer(section):
        address = clean_address(match.group())
        if not address or address.lower() in exclude:
            continue
        line_start = section.rfind("\n", 0, match.start()) + 1
        before = section[line_start : match.start()]
        if _SENDER_CONTEXT.search(before) or before.rstrip().endswith(("mailto:", "/")):
            continue
        spots.append((address, match.start()))
    spots = _first_of_each(spots)
    people = [s for s in spots if s[0].split("@")[0].lower() not in _SERVICE_LOCALS]
    return people or spots


def _first_of_each(spots: list[tuple[str, int]]) -> list[tuple[str, int]]:
    seen: set[str] = set()
    kept: list[tuple[str, int]] = []
    for address, start in spots:
        if address.lower() not in seen:
            seen.add(address.lower())
            kept.append((address, start))
    return kept


def clean_address(text: str) -> str:
    address = text.strip().strip("<>()[]\"',;:.").removeprefix("mailto:")
    if address.lower().startswith("rfc822;"):
        address = address[7:].strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain:
        return ""
    return f"{local}@{domain.rstrip('.').lower()}"
