"""Who handed the message to the receiver: the boundary hop in the Received chain.

Each server prepends a Received field (RFC 5321 §4.4), so the chain is read top down: the
receiver's own hops first, then the one where the receiver took the message from outside (the
boundary), then hops the sender's side wrote, which nothing outside the sender can vouch for.
The boundary is the first hop written by the receiver whose client is a public address that is
not one of the receiver's own hosts.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from reputation.context import organisational_domain
from reputation.knowledge import special_range

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_COMMENT = re.compile(r"\([^()]*\)")
_KEYWORDS = ("from", "by", "via", "with", "id", "for")
_IP_IN_BRACKETS = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]")
_BARE_IP = re.compile(r"^\(?(?:IPv6:)?([0-9A-Fa-f:.]*[.:][0-9A-Fa-f:.]*)\)?$")
_HELO_IN_COMMENT = re.compile(r"\bhelo\s*[= ]\s*\[?([^\s)\]]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Hop:
    """One Received field, read: who connected (name, address, HELO) and who received."""

    raw: str
    from_name: str = ""
    ip: IPAddress | None = None
    helo: str = ""
    rdns: str = ""
    by: str = ""


@dataclass(frozen=True)
class Boundary:
    hop: Hop
    ip: IPAddress
    helo: str
    received_by: str
    skipped: int  # the receiver's own hops above it


class NoBoundary(Exception):
    """No Received field shows the receiver taking the message from a public address."""


def parse_hop(value: str) -> Hop:
    text = " ".join(value.split())
    text = text.rsplit(";", 1)[0] if ";" in text else text  # the date
    comments = _comments(text)
    clauses = _clauses(_COMMENT.sub(" ", _strip_nested(text)))
    from_part = clauses.get("from", "")
    from_name = from_part.split()[0] if from_part.split() else ""
    by = (clauses.get("by", "").split() or [""])[0].rstrip(".").lower()
    ip = _address_in(from_name, comments)
    helo = _helo(from_name, comments)
    rdns = _rdns(comments)
    return Hop(value, from_name, ip, helo, rdns, by)


def _strip_nested(text: str) -> str:
    """Comments may nest (RFC 5322 §3.2.2); flatten them to one level."""
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\(([^()]*)\(([^()]*)\)([^()]*)\)", r"(\1 \2 \3)", text)
    return text


def _comments(text: str) -> list[str]:
    return [c[1:-1].strip() for c in _COMMENT.findall(_strip_nested(text))]


def _clauses(text: str) -> dict[str, str]:
    words = text.split()
    clauses: dict[str, str] = {}
    current = None
    for word in words:
        key = word.lower()
        if key in _KEYWORDS and key not in clauses:
            current = key
            clauses[current] = ""
        elif current is not None:
            clauses[current] = f"{clauses[current]} {word}".strip()
    return clauses


def _ip(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _address_in(from_name: str, comments: list[str]) -> IPAddress | None:
    for comment in comments:
        for found in _IP_IN_BRACKETS.findall(comment):
            if (address := _ip(found)) is not None:
                return address
        bare = _BARE_IP.match(comment.split()[-1]) if comment.split() else None
        if bare and (address := _ip(bare.group(1))) is not None:
            return address
    literal = _IP_IN_BRACKETS.fullmatch(from_name)
    return _ip(literal.group(1)) if literal else None


def _helo(from_name: str, comments: list[str]) -> str:
    for comment in comments:
        found = _HELO_IN_COMMENT.search(comment)
        if found:
            return found.group(1).rstrip(".").lower()
    return from_name.rstrip(".").lower()


def _rdns(comments: list[str]) -> str:
    for comment in comments:
        words = comment.split()
        if words and _IP_IN_BRACKETS.search(comment) and not words[0].startswith("["):
            name = words[0].rstrip(".").lower()
            return "" if name == "unknown" else name
    return ""


def find_boundary(received: list[str]) -> Boundary:
    """The boundary hop of a Received chain given top (newest) first. Raises NoBoundary."""
    hops = [parse_hop(value) for value in received]
    receiver = next((h.by for h in hops if _is_name(h.by)), "")
    if not receiver:
        raise NoBoundary("no Received header field names the receiving host")
    own = organisational_domain(receiver)
    inside = _receiver_side(hops, own)
    public = [(i, h) for i, h in enumerate(inside) if h.ip is not None and not special_range(h.ip)]
    outside = [(i, h) for i, h in public if not _belongs(h, own)]
    # Mail between two customers of the same provider (Workspace to Gmail) never leaves its
    # hosts: then the lowest public hop the receiver wrote is where it came in.
    index, hop = outside[0] if outside else (public[-1] if public else (-1, None))
    if hop is None or hop.ip is None:
        raise NoBoundary(
            f"no Received header field written by {own} shows a connection from a public "
            "address (only internal or private hops): the sending IP cannot be told"
        )
    helo = hop.helo if not hop.helo.startswith("[") else ""
    return Boundary(hop, hop.ip, helo, hop.by or receiver, index)


def _is_name(by: str) -> bool:
    return bool(by) and "." in by and _ip(by.strip("[]")) is None


def _receiver_side(hops: list[Hop], own: str) -> list[Hop]:
    """The hops the receiver wrote: from the top down to the first one another domain wrote."""
    inside: list[Hop] = []
    for hop in hops:
        if _is_name(hop.by) and organisational_domain(hop.by) != own:
            break
        inside.append(hop)
    return inside


def _belongs(hop: Hop, own: str) -> bool:
    names = [n for n in (hop.rdns, hop.helo) if _is_name(n)]
    return bool(names) and all(organisational_domain(n) == own for n in names)
