"""What one DNS question got: a typed outcome, the records, and the CNAME chain that led there.

A check can tell "the name does not exist" (a fact) from "the server did not answer" (no fact).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import dns.name
import dns.rdata
import dns.rdatatype


class Outcome(StrEnum):
    ANSWER = "answer"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    ERROR = "error"


# Records quoted in one evidence line; the rest are counted (see reputation.bounds).
EVIDENCE_RECORDS = 10

UNVERIFIED = frozenset({Outcome.TIMEOUT, Outcome.SERVFAIL, Outcome.REFUSED, Outcome.ERROR})

_OUTCOME_WORDS = {
    Outcome.NXDOMAIN: "NXDOMAIN (name does not exist)",
    Outcome.NODATA: "no records of this type",
    Outcome.TIMEOUT: "no answer (timed out)",
    Outcome.SERVFAIL: "SERVFAIL",
    Outcome.REFUSED: "REFUSED",
    Outcome.ERROR: "error",
}


class TxtData(NamedTuple):
    """A TXT record's data, its character-strings (RFC 1035 §3.3.14). Read by reputation.dns.wire
    itself: dnspython's TXT type would bring its message renderer into every one-off run."""

    strings: tuple[bytes, ...]

    @property
    def rdtype(self) -> int:
        return dns.rdatatype.TXT

    def to_text(self) -> str:
        """Zone-file form, as dnspython writes it: each string quoted, escaped where needed."""
        return " ".join(f'"{_escaped(string)}"' for string in self.strings)


def _escaped(string: bytes) -> str:
    return "".join(
        chr(byte)
        if 0x20 <= byte < 0x7F and byte not in b'"\\'
        else (f"\\{chr(byte)}" if byte in b'"\\' else f"\\{byte:03d}")
        for byte in string
    )


Record = dns.rdata.Rdata | TxtData


@dataclass(frozen=True)
class Answer:
    """What one question got: an outcome, the records and the CNAME chain that led to them.

    `ttl` is how long the answer may be reused: the lowest TTL along the chain, for an
    absence also the SOA's negative TTL (RFC 2308); None when the lookup failed or no TTL
    was given (an absence without SOA).
    """

    name: str
    rdtype: str
    outcome: Outcome
    rdata: tuple[Record, ...] = ()
    cnames: tuple[str, ...] = ()
    detail: str = ""
    ttl: int | None = None
    unread: int = 0  # records of the answer beyond those parsed (see wire.MAX_RECORDS_READ)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.ANSWER

    @property
    def unverified(self) -> bool:
        """True when the lookup could not be completed, so nothing may be concluded from it."""
        return self.outcome in UNVERIFIED

    @property
    def absent(self) -> bool:
        """True when the server said, definitively, that there is no such record."""
        return self.outcome in (Outcome.NXDOMAIN, Outcome.NODATA)

    @property
    def records(self) -> list[str]:
        return [record_text(rd) for rd in self.rdata]

    def evidence(self) -> str:
        """One line a person can read: the question and what came back."""
        chain = "".join(f" -> CNAME {target}" for target in self.cnames)
        if self.ok:
            shown = [record_text(rd) for rd in self.rdata[:EVIDENCE_RECORDS]]
            left = len(self.rdata) + self.unread - len(shown)
            if left:  # one legal answer may hold thousands
                shown.append(f"and {left} more records")
            return f"{self.name} {self.rdtype}{chain} -> {', '.join(shown)}"
        words = _OUTCOME_WORDS[self.outcome]
        if self.detail:
            words = f"{words}: {self.detail}"
        return f"{self.name} {self.rdtype}{chain}: {words}"


def record_text(rd: Record) -> str:
    """Presentation text of a record; TXT strings are joined, as SPF and DMARC read them."""
    if rd.rdtype == dns.rdatatype.TXT:
        return b"".join(rd.strings).decode("utf-8", errors="replace")
    return rd.to_text()


def display_name(name: dns.name.Name | str) -> str:
    text = name.to_text() if isinstance(name, dns.name.Name) else name
    return text[:-1] if text.endswith(".") and text != "." else text
