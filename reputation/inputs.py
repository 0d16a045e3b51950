"""Parsing what users type: domains (IDNA), IP addresses and nameserver addresses.

Every problem is a BadInput naming the value, so the CLI can print one line and exit 64.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import dns.exception
import dns.name

from reputation.dns.resolver import DNS_PORT

DEFAULT_RDAP_URL = "https://rdap.org"  # redirects to the registry that holds the domain

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
    raw = _text("domain", text).strip()
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
    raw = _text("IP address", text).strip()
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
    name = _text("DKIM selector", text).strip().lower().rstrip(".")
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
    raw = _text("nameserver", text).strip()
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


# ---------------------------------------------------------------- HELO, timeout, URL, options

# A DNS query that needs more than a minute will not be answered; a larger bound only hides a
# typo (and `inf` would never end against a silent server).
MAX_TIMEOUT = 60.0
MIN_TIMEOUT = 0.01


def parse_helo(text: object) -> str | None:
    """The HELO/EHLO name as the server sends it, surrounding space dropped; None if not given.

    Whether it is a good name is the helo_ptr check's to judge (and explain); only what cannot
    be a greeting at all is refused here."""
    if text is None:
        return None
    helo = _text("HELO", text).strip()
    if not helo:
        raise BadInput("invalid HELO '': empty (leave it out to assume the PTR name)")
    if not _is_utf8(helo) or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in helo):
        raise BadInput(f"invalid HELO {helo!r}: not a name a mail server can send (bad bytes)")
    return helo


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8 on the command line
        return False
    return True


def parse_timeout(value: object) -> float:
    """Seconds each DNS query may take: a finite number from 0.01 to 60."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadInput(f"invalid timeout {value!r}: expected a number of seconds")
    try:
        seconds = float(value)
    except ValueError:
        raise BadInput(f"invalid timeout {value!r}: expected a number of seconds") from None
    if not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:  # NaN fails this too
        raise BadInput(
            f"invalid timeout {value!r}: must be from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} seconds"
        )
    return seconds


def parse_rdap_url(value: object) -> str:
    """An RDAP base URL the HTTP client can request: http(s)://host[:port][/path]."""
    text = _text("RDAP URL", value).strip()
    if text == DEFAULT_RDAP_URL:
        return text  # known good: no need to load the HTTP client to parse it
    import httpx  # only when another RDAP URL is given: start-up time matters

    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise BadInput(f"invalid RDAP URL {text!r}: {exc}") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise BadInput(f"invalid RDAP URL {text!r}: expected https://host/...")
    if url.query or url.fragment:
        raise BadInput(f"invalid RDAP URL {text!r}: a base URL has no ?query or #fragment")
    return text


def parse_server(value: object) -> tuple[str, int]:
    """A nameserver as text (HOST[:PORT], [V6]:PORT) or as a (host, port) tuple."""
    if isinstance(value, str):
        return parse_nameserver(value)
    if not isinstance(value, tuple) or len(value) != 2:
        raise BadInput(f"invalid nameserver {value!r}: expected 'HOST[:PORT]' or (host, port)")
    host, port = value
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise BadInput(f"invalid nameserver {value!r}: port {port!r} is not 1-65535")
    address, _ = parse_nameserver(_text("nameserver host", host).strip("[]"))
    return address, port


def _texts(what: str, value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise BadInput(f"invalid {what} {value!r}: expected a list of strings")
    return [_text(what, item) for item in value]


def _flag(what: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise BadInput(f"invalid {what} {value!r}: expected True or False")
    return value


def parse_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options of a check, each read by its one rule; BadInput names the first wrong one.

    Keys are those of context.Options; the CLI and the Python API both come through here."""
    readers: dict[str, Callable[[Any], Any]] = {
        "nameservers": lambda v: [parse_server(ns) for ns in _list("nameservers", v)],
        "timeout": parse_timeout,
        "rdap": lambda v: _flag("rdap", v),
        "rdap_url": parse_rdap_url,
        "rdap_transport": _transport,
        "dkim_selectors": lambda v: [parse_selector(s) for s in _texts("DKIM selectors", v)],
        "providers": lambda v: _texts("providers", v),
        "bulk": lambda v: _flag("bulk", v),
        "blocklists_file": _path,
        "lists": lambda v: _texts("lists", v),
        "env": _env,
    }
    unknown = sorted(set(options) - set(readers))
    if unknown:
        raise BadInput(f"unknown option(s): {', '.join(unknown)}")
    return {name: readers[name](value) for name, value in options.items()}


def _list(what: str, value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise BadInput(f"invalid {what} {value!r}: expected a list")
    return list(value)


def _transport(value: object) -> object:
    if value is None:
        return None
    import httpx

    if not isinstance(value, httpx.AsyncBaseTransport):
        raise BadInput(f"invalid rdap_transport {value!r}: expected an httpx.AsyncBaseTransport")
    return value


def _path(value: object) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str | PathLike):
        raise BadInput(f"invalid blocklists_file {value!r}: expected a path")
    return Path(value)


def _env(value: object) -> Mapping[str, str] | None:
    if value is not None and not isinstance(value, Mapping):
        raise BadInput(f"invalid env {value!r}: expected a mapping of names to strings")
    return value


# ---------------------------------------------------------------- TOML files users give

MAX_TOML_BYTES = 4 * 1024 * 1024
MAX_TOML_DEPTH = 32


def toml_problem(text: str) -> str | None:
    """Why a TOML document is too big or too deeply nested to read, or None.

    tomllib recurses once per nested array or inline table: thousands of '[' end in a
    RecursionError, not a message. Brackets inside strings and comments are skipped."""
    if len(text) > MAX_TOML_BYTES:
        return f"larger than {MAX_TOML_BYTES // (1024 * 1024)} MiB"
    depth = deepest = 0
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote[0] == '"':
                index += 1
            elif text.startswith(quote, index):
                index += len(quote) - 1
                quote = ""
        elif char == "#":
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
        elif char in "\"'":
            quote = char * 3 if text.startswith(char * 3, index) else char
            index += len(quote) - 1
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
        index += 1
    if deepest > MAX_TOML_DEPTH:
        return f"nested more than {MAX_TOML_DEPTH} levels deep"
    return None
