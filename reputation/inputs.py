"""Parsing what users type: domains (IDNA), IP addresses and nameserver addresses.

Every problem is a BadInput naming the value, so the CLI can print one line and exit 64.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

import dns.exception
import dns.name

from reputation.dns.resolver import DNS_PORT

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _label_pattern(also: str = "") -> re.Pattern[str]:
    """A DNS label of letters, digits and inner hyphens (LDH), and the characters in `also`."""
    return re.compile(rf"^(?!-)[a-z0-9{also}-]{{1,63}}(?<!-)$")


_LDH_LABEL = _label_pattern()
# Selectors are LDH by RFC 6376 §3.1, but DNS carries underscores and some signers use them.
_SELECTOR_LABEL = _label_pattern("_")


class BadInput(ValueError):
    """A value a user gave that cannot be used; the message names it."""


@dataclass(frozen=True)
class Domain:
    unicode: str
    ascii: str

    def __str__(self) -> str:
        return self.ascii


def parse_domain(text: str) -> Domain:
    raw = text.strip()
    if not raw:
        raise BadInput("invalid domain '': empty")
    if "@" in raw:
        raise BadInput(f"invalid domain {raw!r}: give the domain, not an email address")
    try:
        ipaddress.ip_address(raw.strip("[]"))
    except ValueError:
        pass
    else:
        raise BadInput(f"invalid domain {raw!r}: that is an IP address; give DOMAIN then IP")
    if raw.endswith(".."):
        raise BadInput(f"invalid domain {text!r}: empty label")
    if raw != "." and raw.endswith("."):
        raw = raw[:-1]
    try:
        name = dns.name.from_unicode(raw, idna_codec=dns.name.IDNA_2008_Practical)
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise BadInput(f"invalid domain {text!r}: {exc}") from None
    ascii_name = name.to_text(omit_final_dot=True).lower()
    if len(ascii_name) > 253 or not ascii_name or ascii_name == "@":
        raise BadInput(f"invalid domain {text!r}: not a host name")
    for label in ascii_name.split("."):
        if not _LDH_LABEL.match(label):
            raise BadInput(
                f"invalid domain {text!r}: label {label!r} is not letters, digits and inner hyphens"
            )
    try:
        unicode_name = name.to_unicode(omit_final_dot=True, idna_codec=dns.name.IDNA_2008_Practical)
    except (dns.exception.DNSException, UnicodeError) as exc:
        raise BadInput(f"invalid domain {text!r}: {exc}") from None
    return Domain(unicode=unicode_name.lower(), ascii=ascii_name)


def parse_ip(text: str) -> IPAddress:
    raw = text.strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1]
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        raise BadInput(f"invalid IP address {text!r}") from None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            raise BadInput(f"invalid IP address {text!r}: a scoped address is not a mail sender")
        if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d sends as a.b.c.d on the wire
            return address.ipv4_mapped
    return address


def parse_selector(text: str, domain: str | None = None) -> str:
    """A DKIM selector: dot-separated labels (RFC 6376 §3.1), lower-cased; the whole name
    `sel._domainkey.domain` (of `domain`, or of any domain when None) gives `sel`."""
    name = text.strip().lower().rstrip(".")
    if domain is not None:
        name = name.removesuffix(f"._domainkey.{domain}")
    name = name.removesuffix("._domainkey")
    labels = name.split(".")
    if not name or len(name) > 200 or not all(_SELECTOR_LABEL.match(label) for label in labels):
        raise BadInput(
            f"invalid DKIM selector {text!r}: expected labels such as 'mail' or 's1.2024'"
        )
    return name


def parse_nameserver(text: str) -> tuple[str, int]:
    """HOST, HOST:PORT, V6, or [V6]:PORT -> (address, port)."""
    raw = text.strip()
    host, port = raw, DNS_PORT
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise BadInput(f"invalid nameserver {text!r}: missing ']'")
        host, rest = raw[1:end], raw[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise BadInput(f"invalid nameserver {text!r}")
            port = _port(text, rest[1:])
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
        port = _port(text, port_text)
    if not host:
        raise BadInput(f"invalid nameserver {text!r}: no host")
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError):
        raise BadInput(f"invalid nameserver {text!r}: {host!r} does not resolve") from None
    return str(infos[0][4][0]), port


def _port(original: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise BadInput(f"invalid nameserver {original!r}: port {text!r} is not 1-65535")
    return int(text)


# ---------------------------------------------------------------- SPF identities (RFC 7208)


def split_sender(text: str | None) -> tuple[str, str] | None:
    """MAIL FROM as a receiver reads it: (local-part, domain), or None for the null sender.

    Angle brackets and surrounding space are dropped; a bare domain, or an address without a
    local-part, is postmaster at that domain (§4.3); the domain is read by `spf_domain`.
    The CLI and the library both read senders with this function; `parse_spf_sender` adds
    what a person typing one must be told about.
    """
    raw = _text("sender", "" if text is None else text).strip()
    if raw.startswith("<") and raw.endswith(">"):
        raw = raw[1:-1].strip()
    if not raw:
        return None
    local, _, domain = raw.rpartition("@")
    return local or "postmaster", spf_domain(domain)


def spf_domain(text: str) -> str:
    """A domain or HELO name as SPF evaluates it: without surrounding space or one trailing dot,
    lower-cased, an IDN in ASCII. What cannot be made a DNS name is left for check_host(),
    which answers "none" for it (§4.3)."""
    name = _text("domain", text).strip()
    if name.endswith(".") and name != ".":
        name = name[:-1]
    if name.startswith("["):  # an address literal HELO
        return name
    if not name.isascii():
        try:
            return parse_domain(name).ascii
        except BadInput:
            return name
    return name.lower()


def parse_spf_sender(text: str | None) -> str | None:
    """A MAIL FROM typed by a person: local@domain with a valid domain, or None (null sender)."""
    parts = split_sender(text)
    if parts is None:
        return None
    local, domain = parts
    if "@" in local.strip('"'):
        raise BadInput(f"invalid sender {text!r}: expected local-part@domain")
    if not domain:
        raise BadInput(f"invalid sender {text!r}: no domain after '@'")
    return f"{local}@{parse_domain(domain).ascii}"


def _text(what: str, value: object) -> str:
    if not isinstance(value, str):
        raise BadInput(f"invalid {what} {value!r}: expected text, not {type(value).__name__}")
    return value
