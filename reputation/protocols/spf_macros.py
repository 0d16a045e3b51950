"""SPF macro expansion (RFC 7208 §7) and the names an evaluation works with.

A `MacroExpander` knows one check_host()'s identity (sender, IP, HELO name) and turns a parsed
macro-string into text; %{p} and the explanation text of exp= ask DNS through its resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
import urllib.parse

import dns.exception
import dns.name

from reputation import facts
from reputation.dns.cache import Querier
from reputation.inputs import IPAddress
from reputation.protocols.spf_record import (
    EXPLANATION_LETTERS,
    Macro,
    MacroString,
    SpfSyntaxError,
    parse_macro_string,
)

MAX_PTR_NAMES = 10
MAX_DOMAIN_LENGTH = 253


class MacroExpander:
    """Expands macro-strings for one check_host(): the sender, the IP and the HELO name."""

    def __init__(self, resolver: Querier, ip: IPAddress, sender: str, helo: str) -> None:
        self.resolver = resolver
        self.ip = sender_address(ip)
        local, _, domain = sender.rpartition("@")
        self.local = local or "postmaster"
        self.sender_domain = domain
        self.sender = f"{self.local}@{domain}"
        self.helo = helo or "unknown"

    async def expand(self, spec: MacroString, domain: str) -> str:
        parts = [
            token if isinstance(token, str) else transform(await self.value(token, domain), token)
            for token in spec.tokens
        ]
        return "".join(parts)

    async def value(self, macro: Macro, domain: str) -> str:
        if macro.letter == "p":
            return await self.validated_name(domain)
        values = {
            "s": self.sender,
            "l": self.local,
            "o": self.sender_domain,
            "d": domain,
            "i": nibbles(self.ip),
            "v": "in-addr" if self.ip.version == 4 else "ip6",
            "h": self.helo,
            "c": str(self.ip),
            "r": "unknown",
            "t": str(int(time.time())),
        }
        return values[macro.letter]

    async def validated_name(self, domain: str) -> str:
        """%{p}: a validated PTR name of the IP, the domain itself or a subdomain preferred."""
        answer = await self.resolver.query(self.ip.reverse_pointer, "PTR")
        validated = await validated_names(
            self.resolver, self.ip, facts.ptr_names(answer)[:MAX_PTR_NAMES]
        )
        exact = [name for name in validated if name == domain.lower().rstrip(".")]
        inside = [name for name in validated if within(name, domain)]
        return next(iter(exact + inside + validated), "unknown")

    async def explanation_text(self, spec: MacroString, domain: str) -> str | None:
        """The exp= text (§6.2); None when anything about it is unusable (then the default
        explanation applies)."""
        name = query_name(fit(await self.expand(spec, domain)))
        if name is None:
            return None
        answer = await self.resolver.query(name, "TXT")
        if not answer.ok or len(answer.rdata) != 1:
            return None
        try:
            template = parse_macro_string(answer.records[0], EXPLANATION_LETTERS, spaces=True)
        except SpfSyntaxError:
            return None
        return await self.expand(template, domain)


async def validated_names(resolver: Querier, ip: IPAddress, names: list[str]) -> list[str]:
    """The names that resolve back to the IP; names whose lookup fails are skipped (§5.5)."""
    answers = await asyncio.gather(
        *(resolver.query(name, facts.address_type(ip)) for name in names)
    )
    return [name for name, answer in zip(names, answers, strict=True) if ip in facts.ips_of(answer)]


def transform(value: str, macro: Macro) -> str:
    parts = re.split(f"[{re.escape(macro.delimiters or '.')}]", value)
    if macro.reverse:
        parts.reverse()
    if macro.keep:
        parts = parts[-macro.keep :]
    joined = ".".join(parts)
    return urllib.parse.quote(joined, safe="") if macro.url_escape else joined


def sender_address(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address is the IPv4 address it carries (§5, "ip4")."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def query_name(domain: str) -> str | None:
    """The domain as the Resolver's query text, or None when no DNS name can be made of it."""
    bare = domain[:-1] if domain.endswith(".") else domain
    if not bare or not bare.isascii():
        return None
    try:
        name = dns.name.Name([label.encode("ascii") for label in bare.split(".")] + [b""])
    except dns.exception.DNSException:
        return None
    return name.to_text(omit_final_dot=True)


def fit(domain: str) -> str:
    """§7.3: an expanded domain without its trailing dot, cut from the left to 253 characters."""
    name = domain[:-1] if domain.endswith(".") else domain
    while len(name) > MAX_DOMAIN_LENGTH and "." in name:
        name = name.split(".", 1)[1]
    return name


def within(name: str, domain: str) -> bool:
    name, domain = name.lower().rstrip("."), domain.lower().rstrip(".")
    return name == domain or name.endswith("." + domain)


def nibbles(ip: IPAddress) -> str:
    if ip.version == 4:
        return str(ip)
    return ".".join(ip.exploded.replace(":", "").upper())
