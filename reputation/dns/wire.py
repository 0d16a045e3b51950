"""DNS messages on the wire, built and read only as far as a stub resolver needs (RFC 1035).

A query is a header, one question and an EDNS0 OPT record (RFC 6891). A reply is read for its
rcode, the records of the asked type along the CNAME chain, and, only when there is no answer,
the authority section's SOA (negative TTL, RFC 2308) and NS records (a referral).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from reputation.dns.answer import Answer, Outcome, Record, TxtData, display_name

HEADER = struct.Struct("!HHHHHH")
RECORD = struct.Struct("!HHIH")  # type, class, ttl, rdata length (after the owner name)
QR, AA, TC, RD = 0x8000, 0x0400, 0x0200, 0x0100
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = range(6)
CLASS_IN = 1
TYPE_CNAME, TYPE_SOA, TYPE_NS, TYPE_TXT = 5, 6, 2, 16
EDNS_PAYLOAD = 1232  # the DNS flag day 2020 size: no IP fragmentation
MAX_CHAIN = 16  # CNAMEs followed within one answer, as dnspython
# Records of one answer parsed; the rest are only counted. Far above every limit a check applies
# (SPF's 10 MX or PTR names, RFC 7208 §4.6.4), far below what 64 KB can hold (thousands).
MAX_RECORDS_READ = 100
_OPT = b"\x00" + RECORD.pack(41, EDNS_PAYLOAD, 0, 0)
# A server that could not parse the question may answer these without one (RFC 1035 4.1.1).
_QUESTIONLESS_RCODES = frozenset({FORMERR, SERVFAIL, NOTIMP, REFUSED})


class WireError(ValueError):
    """A reply that does not parse as a DNS message."""


def encode_name(name: str) -> bytes:
    """The wire form of a domain name; ValueError names what is wrong with an invalid one."""
    if name.isascii() and "\\" not in name:
        text = name[:-1] if name.endswith(".") else name
        if not text:
            return b"\x00"
        wire = _plain_wire(text)
        if wire is not None:
            return wire
    try:  # IDN, escapes and every invalid name: dnspython's rules and words
        return dns.name.from_text(name).to_wire() or b"\x00"
    except dns.exception.DNSException as exc:
        raise ValueError(str(exc)) from None


def _plain_wire(text: str) -> bytes | None:
    """Wire form of a plain ASCII name without escapes; None when a label is empty or too long,
    or the name too long (dnspython then says which)."""
    if len(text) > 253:
        return None
    parts: list[bytes] = []
    for label in text.encode().split(b"."):
        size = len(label)
        if not 0 < size < 64:
            return None
        parts.append(_LENGTH[size])
        parts.append(label)
    parts.append(b"\x00")
    return b"".join(parts)


_LENGTH = [bytes((size,)) for size in range(64)]


def question(qname: bytes, qtype: int) -> bytes:
    """The question section: QNAME, QTYPE, QCLASS IN."""
    return qname + struct.pack("!HH", qtype, CLASS_IN)


def query(qid: int, question_wire: bytes) -> bytes:
    """A recursive query (RD) for one question, with EDNS0."""
    return HEADER.pack(qid, RD, 1, 0, 0, 1) + question_wire + _OPT


def answers_question(reply: bytes, question_wire: bytes) -> bool:
    """Is this a reply (QR) to exactly our question? Names compare case-insensitively."""
    if len(reply) < 12 or not reply[2] & 0x80 or reply[2] & 0x78:  # QR set, opcode QUERY
        return False
    qdcount = (reply[4] << 8) | reply[5]
    if qdcount == 0:
        return reply[3] & 0x0F in _QUESTIONLESS_RCODES
    if qdcount != 1:
        return False
    got = reply[12 : 12 + len(question_wire)]
    return got[-4:] == question_wire[-4:] and got[:-4].lower() == question_wire[:-4].lower()


def rcode(reply: bytes) -> int:
    return reply[3] & 0x0F


def truncated(reply: bytes) -> bool:
    return bool(reply[2] & 0x02)


class _Record(NamedTuple):
    owner: bytes  # lower-case, labels joined by dots
    rdtype: int
    ttl: int
    offset: int  # of the rdata
    length: int


def read_answer(name: str, rdtype: str, qtype: int, reply: bytes) -> Answer:
    """The Answer a NOERROR or NXDOMAIN reply gives to our question."""
    try:
        return _read(name, rdtype, qtype, reply)
    except (WireError, IndexError, struct.error, dns.exception.DNSException) as exc:
        return Answer(name, rdtype, Outcome.ERROR, detail=f"unusable answer ({exc})")


def _read(name: str, rdtype: str, qtype: int, reply: bytes) -> Answer:
    _, flags, qdcount, ancount, nscount, _ = HEADER.unpack_from(reply)
    if qdcount != 1:
        raise WireError("the reply does not repeat the question")
    labels, offset = read_name(reply, 12)
    current = b".".join(labels).lower()
    if ancount:
        answers, offset = _records(reply, offset + 4, ancount)
        found, cnames, ttls = _follow_chain(reply, answers, current, qtype)
    else:  # the usual blocklist answer: NXDOMAIN, nothing to follow
        found, cnames, ttls, offset = [], (), [], offset + 4
    nxdomain = flags & 0x0F == NXDOMAIN
    if nxdomain and found:
        raise WireError("NXDOMAIN with an answer")
    if found:
        read = found[:MAX_RECORDS_READ]  # parsing is CPU on the event loop: bounded
        rdata = _distinct(qtype, reply, read)
        unread = len(found) - len(read)
        return Answer(name, rdtype, Outcome.ANSWER, rdata, cnames, ttl=min(ttls), unread=unread)
    authority, _ = _records(reply, offset, nscount)
    ttls.extend(_negative_ttl(reply, authority, current))
    ttl = min(ttls) if ttls else None
    if nxdomain:
        return Answer(name, rdtype, Outcome.NXDOMAIN, cnames=cnames, ttl=ttl)
    if not flags & AA and _is_referral(authority):
        detail = "the server sent a referral, not an answer: it does not resolve recursively"
        return Answer(name, rdtype, Outcome.ERROR, cnames=cnames, detail=detail)
    return Answer(name, rdtype, Outcome.NODATA, cnames=cnames, ttl=ttl)


def _distinct(qtype: int, reply: bytes, records: list[_Record]) -> tuple[Record, ...]:
    """The records' data, duplicates dropped (as dnspython drops them from an rrset)."""
    if qtype in _SELF_CONTAINED:  # equal data is equal bytes: no need to hash parsed objects
        unique = {reply[r.offset : r.offset + r.length]: r for r in records}.values()
        return tuple(_rdata(qtype, reply, r.offset, r.length) for r in unique)
    return tuple(dict.fromkeys(_rdata(qtype, reply, r.offset, r.length) for r in records))


def _rdata(qtype: int, reply: bytes, offset: int, length: int) -> Record:
    """One record's data. TXT is read here (`_txt`). A and AAAA records mean the same wherever
    they appear and dnspython's objects are immutable: the few values a blocklist answers with
    are parsed once, not once per reply."""
    if qtype == TYPE_TXT:
        return _txt(reply, offset, length)
    if qtype not in _SELF_CONTAINED:
        return dns.rdata.from_wire(dns.rdataclass.IN, qtype, reply, offset, length)
    key = (qtype, reply[offset : offset + length])
    known = _parsed.get(key)
    if known is None:
        if len(_parsed) >= _PARSED_KEPT:
            _parsed.clear()
        known = _parsed[key] = dns.rdata.from_wire(dns.rdataclass.IN, qtype, reply, offset, length)
    return known


def _txt(reply: bytes, offset: int, length: int) -> TxtData:
    """One or more <length><bytes> character-strings filling the record exactly."""
    end = offset + length
    strings: list[bytes] = []
    while offset < end:
        size = reply[offset]
        if offset + 1 + size > end:
            raise WireError("a TXT string runs past its record")
        strings.append(reply[offset + 1 : offset + 1 + size])
        offset += 1 + size
    if not strings:
        raise WireError("a TXT record without strings")
    return TxtData(tuple(strings))


_SELF_CONTAINED = frozenset({1, 16, 28})  # A, TXT, AAAA: no compressed names inside
_PARSED_KEPT = 4096
_parsed: dict[tuple[int, bytes], Record] = {}


def _follow_chain(
    reply: bytes, records: list[_Record], current: bytes, qtype: int
) -> tuple[list[_Record], tuple[str, ...], list[int]]:
    cnames: list[str] = []
    ttls: list[int] = []
    for _ in range(MAX_CHAIN):
        found = [r for r in records if r.owner == current and r.rdtype == qtype]
        if found:
            ttls.extend(r.ttl for r in found)
            return found, tuple(cnames), ttls
        alias = [r for r in records if r.owner == current and r.rdtype == TYPE_CNAME]
        if qtype == TYPE_CNAME or not alias:
            return [], tuple(cnames), ttls
        target, _ = read_name(reply, alias[0].offset)
        cnames.append(display_name(dns.name.Name((*target, b""))))
        ttls.extend(r.ttl for r in alias)
        current = b".".join(target).lower()
    raise WireError(f"more than {MAX_CHAIN} CNAMEs")


def _negative_ttl(reply: bytes, authority: list[_Record], name: bytes) -> list[int]:
    """TTL and MINIMUM of the zone's SOA: how long an absence may be remembered (RFC 2308)."""
    for record in authority:
        in_zone = not record.owner or name == record.owner or name.endswith(b"." + record.owner)
        if record.rdtype == TYPE_SOA and in_zone and record.length >= 20:
            (minimum,) = struct.unpack_from("!I", reply, record.offset + record.length - 4)
            return [record.ttl, minimum]
    return []


def _is_referral(authority: list[_Record]) -> bool:
    """An empty, non-authoritative answer pointing at other nameservers: not "no such record"."""
    kinds = {record.rdtype for record in authority}
    return TYPE_NS in kinds and TYPE_SOA not in kinds


def _records(reply: bytes, offset: int, count: int) -> tuple[list[_Record], int]:
    records: list[_Record] = []
    for _ in range(count):
        labels, offset = read_name(reply, offset)
        rtype, rclass, ttl, length = RECORD.unpack_from(reply, offset)
        offset += 10
        if offset + length > len(reply):
            raise WireError("a record runs past the end of the message")
        if rclass == CLASS_IN:
            records.append(_Record(b".".join(labels).lower(), rtype, ttl, offset, length))
        offset += length
    return records, offset


def read_name(data: bytes, offset: int) -> tuple[tuple[bytes, ...], int]:
    """The labels of the (possibly compressed) name at `offset`, and the offset after it."""
    labels: list[bytes] = []
    after = -1
    jumps = 0
    while True:
        length = data[offset]
        if length == 0:
            offset += 1
            break
        if length >= 0xC0:
            if after < 0:
                after = offset + 2
            jumps += 1
            if jumps > 127:
                raise WireError("compression pointer loop")
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if length > 63:
            raise WireError("invalid label length")
        labels.append(data[offset + 1 : offset + 1 + length])
        offset += 1 + length
    return tuple(labels), after if after >= 0 else offset
