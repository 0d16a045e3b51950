"""The blocklist catalog model: a list, its return codes, bits and refusal codes, and the
catalog of lists (read from blocklists.toml by loader.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reputation.blocklists.names import normal_name
from reputation.redaction import remember

SCHEMA_VERSION = 1
SUBJECTS = ("ip4", "ip6", "domain")
STATUSES = ("active", "retired")
MATCHES = ("exact", "bitmask")
SEVERITIES = ("block", "policy", "info", "allow")  # most serious first
ERROR_KINDS = ("refused", "error")

LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
RFC5782_CLEAN_IP = "127.0.0.1"
RFC5782_CLEAN_DOMAIN = "invalid"


class CatalogError(ValueError):
    """The catalog cannot be used; the one-line message names the file and the problem."""


IPv4Range = tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]


@dataclass(frozen=True, kw_only=True)
class _Documented:
    """What the list says an answer means, and where it says so."""

    meaning: str
    source: str
    unconfirmed: bool = False


@dataclass(frozen=True, kw_only=True)
class _Answered:
    """A catalog entry for an A value or an inclusive range of them."""

    value: str
    low: ipaddress.IPv4Address
    high: ipaddress.IPv4Address

    def matches(self, address: ipaddress.IPv4Address) -> bool:
        return self.low <= address <= self.high


@dataclass(frozen=True, kw_only=True)
class Code(_Answered, _Documented):
    """A documented listing answer."""

    severity: str


@dataclass(frozen=True, kw_only=True)
class Bit(_Documented):
    """One bit of the last octet of a bitmask list's answer."""

    bit: int
    severity: str


@dataclass(frozen=True, kw_only=True)
class ErrorCode(_Answered, _Documented):
    """An answer that is not a listing: a refusal or a misconfiguration."""

    kind: str
    remedy: str


@dataclass(frozen=True)
class Blocklist:
    id: str
    name: str
    operator: str
    zone: str
    subject: tuple[str, ...]
    status: str
    status_date: str
    status_note: str
    default: bool
    match: str
    access: str
    public_resolvers_refused: bool
    key_env: str
    key_zone: str
    requires_key: bool
    test_listed: str
    test_clean: str
    lookup_url: str
    removal_url: str
    sources: tuple[str, ...]
    codes: tuple[Code, ...] = ()
    bits: tuple[Bit, ...] = ()
    errors: tuple[ErrorCode, ...] = ()
    status_source: str = ""
    access_source: str = ""
    free_queries_per_day: int = 0  # 0: no documented limit

    @property
    def retired(self) -> bool:
        return self.status == "retired"

    @property
    def subjects_ip(self) -> bool:
        return "ip4" in self.subject or "ip6" in self.subject

    @property
    def subjects_domain(self) -> bool:
        return "domain" in self.subject

    @property
    def registration_only(self) -> bool:
        """Access needs the resolver's IP registered with the operator, not a key we can pass."""
        return self.requires_key and not self.key_env

    @property
    def negative_test_point(self) -> str:
        """test_clean; for a retired list without one, the RFC 5782 default (catches squatters)."""
        if self.test_clean or not self.retired:
            return self.test_clean
        return RFC5782_CLEAN_IP if self.subjects_ip else RFC5782_CLEAN_DOMAIN

    def key(self, env: Mapping[str, str]) -> str | None:
        if not self.key_env:
            return None
        key = env.get(self.key_env, "").strip() or None
        if key:
            remember(self.key_env, key)  # never printed: see reputation.redaction
        return key

    def effective_zone(self, env: Mapping[str, str]) -> str:
        key = self.key(env)
        return self.key_zone.replace("{key}", key) if key else self.zone

    def removal_for(self, query: str) -> str:
        url = self.removal_url or self.lookup_url
        return url.replace("{query}", query)

    def error_for(self, address: ipaddress.IPv4Address) -> ErrorCode | None:
        return next((e for e in self.errors if e.matches(address)), None)

    def code_for(self, address: ipaddress.IPv4Address) -> Code | None:
        return next((c for c in self.codes if c.matches(address)), None)

    def bit_for(self, bit: int) -> Bit | None:
        return next((b for b in self.bits if b.bit == bit), None)


@dataclass
class Catalog:
    lists: list[Blocklist]
    origin: str = ""

    def default(self) -> list[Blocklist]:
        return [b for b in self.lists if b.default and not b.retired]

    def by_zone(self, zone: str) -> Blocklist | None:
        wanted = normal_name(zone)
        return next((b for b in self.lists if b.zone == wanted), None)

    def by_id(self, list_id: str) -> Blocklist | None:
        wanted = list_id.strip().lower()
        return next((b for b in self.lists if b.id == wanted), None)

    def select(self, names: Sequence[str]) -> list[Blocklist]:
        """Lists named by id or zone, in the order given, each once."""
        chosen: list[Blocklist] = []
        for name in names:
            found = self.by_id(name) or self.by_zone(name)
            if found is None:
                where = f"{self.origin}: " if self.origin else ""
                raise CatalogError(f"{where}unknown blocklist {name!r} (not an id or zone)")
            if found not in chosen:
                chosen.append(found)
        return chosen
