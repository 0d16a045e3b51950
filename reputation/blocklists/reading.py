"""Reading one A answer of a list: clean, listed (with meanings), refused or error. Pure.

Refusal and misconfiguration codes are read before listing codes and are never "listed".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dns.rdatatype

from reputation.blocklists.catalog import LOOPBACK, SEVERITIES, Blocklist
from reputation.dns.resolver import Answer, Outcome
from reputation.report import ListingStatus

LISTS_EVERYTHING = "lists everything"
LOOKS_EMPTY = "list looks empty or dead"
UNDOCUMENTED_NO_CODES = "return code not documented by the list"
RFC5782_NEGATIVE_VALUE = ipaddress.IPv4Address("127.0.0.1")
BITMASK_FORM = ipaddress.IPv4Network("127.0.0.0/24")


@dataclass(frozen=True)
class Reading:
    """What one A answer means for one list."""

    status: ListingStatus
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    severity: str = ""
    detail: str = ""
    remedy: str = ""


NOT_LISTED = Reading(ListingStatus.CLEAN, detail="not listed")


def interpret(blocklist: Blocklist, answer: Answer, *, key_used: bool = False) -> Reading:
    """Read an A answer: clean, listed (with meanings), refused or error. Pure."""
    if answer.absent:
        return NOT_LISTED
    if answer.outcome is Outcome.TIMEOUT:
        return Reading(ListingStatus.ERROR, detail=_worded("timed out", answer.detail))
    if answer.outcome is Outcome.SERVFAIL:
        return Reading(ListingStatus.ERROR, detail=_worded("SERVFAIL", answer.detail))
    if answer.outcome is Outcome.REFUSED:
        detail = _worded("the DNS server answered REFUSED", answer.detail)
        return Reading(
            ListingStatus.REFUSED, detail=detail, remedy=_refusal_remedy(blocklist, key_used)
        )
    if not answer.ok:
        return Reading(ListingStatus.ERROR, detail=_worded("lookup failed", answer.detail))
    values = a_values(answer)
    if not values:
        return Reading(ListingStatus.ERROR, detail="answer without A records")
    return read_values(blocklist, values)


def _worded(words: str, detail: str) -> str:
    return f"{words} ({detail})" if detail else words


def _refusal_remedy(blocklist: Blocklist, key_used: bool) -> str:
    if blocklist.key_env:
        if key_used:
            return f"check the key in {blocklist.key_env}"
        return f"add your key via {blocklist.key_env}"
    if blocklist.registration_only:
        return "register your resolver's IP address with the list operator"
    return "query through your own recursive resolver"


def a_values(answer: Answer) -> list[ipaddress.IPv4Address]:
    values = {
        ipaddress.IPv4Address(rd.address) for rd in answer.rdata if rd.rdtype == dns.rdatatype.A
    }
    return sorted(values)


def read_values(blocklist: Blocklist, values: Sequence[ipaddress.IPv4Address]) -> Reading:
    """Several A values: any outside 127/8 or any error code decides; else all are listings."""
    codes = tuple(str(v) for v in values)
    outside = [v for v in values if v not in LOOPBACK]
    if outside:
        detail = f"wildcard or hijacked answer (A {outside[0]} outside 127.0.0.0/8)"
        return Reading(ListingStatus.ERROR, codes, detail=detail)
    for value in values:
        error = blocklist.error_for(value)
        if error is not None:
            status = ListingStatus.REFUSED if error.kind == "refused" else ListingStatus.ERROR
            return Reading(status, codes, detail=f"A {value}: {error.meaning}", remedy=error.remedy)
    undocumented = next((v for v in values if not _documented(blocklist, v)), None)
    if undocumented is not None:
        detail = (
            f"undocumented answer {undocumented}: not a return code {blocklist.name} documents,"
            " so it is read as neither listed nor clean"
        )
        remedy = "re-run later; if it persists, look the address up on the list's site"
        return Reading(ListingStatus.ERROR, codes, detail=detail, remedy=remedy)
    found = [hit for value in values for hit in _meanings(blocklist, value)]
    meanings = tuple(dict.fromkeys(meaning for meaning, _, _ in found))
    notes = [note for _, _, note in found if note]
    detail = "; ".join([f"A {', '.join(codes)}", *dict.fromkeys(notes)])
    return Reading(
        ListingStatus.LISTED, codes, meanings, most_serious(s for _, s, _ in found), detail
    )


def _documented(blocklist: Blocklist, value: ipaddress.IPv4Address) -> bool:
    """Is `value` an answer of the form the list documents?

    A bitmask list answers 127.0.0.x with documented bits only; an exact list one of its codes.
    127.0.0.1 is never a listing (RFC 5782 §5: it is the test point that must not be listed);
    a list that documents no codes at all is believed for any other 127/8 answer.
    """
    if value == RFC5782_NEGATIVE_VALUE:
        return False
    if blocklist.match == "bitmask" and blocklist.bits:
        octet = value.packed[3]
        bits = [1 << n for n in range(8) if octet & (1 << n)]
        in_form = value in BITMASK_FORM and octet != 0
        return in_form and all(blocklist.bit_for(bit) is not None for bit in bits)
    if blocklist.codes or blocklist.bits:
        return blocklist.code_for(value) is not None
    return True


def _meanings(blocklist: Blocklist, value: ipaddress.IPv4Address) -> list[tuple[str, str, str]]:
    """(meaning, severity, note) for one documented listing value (see _documented)."""
    if blocklist.match == "bitmask" and blocklist.bits:
        octet = value.packed[3]
        found = [blocklist.bit_for(1 << n) for n in range(8) if octet & (1 << n)]
        return [(bit.meaning, bit.severity, "") for bit in found if bit is not None]
    code = blocklist.code_for(value)
    if code is not None:
        return [(code.meaning, code.severity, "")]
    return [(UNDOCUMENTED_NO_CODES, "block", "the list documents no return codes")]


def most_serious(severities: Iterable[str]) -> str:
    found = set(severities)
    return next((s for s in SEVERITIES if s in found), "")
