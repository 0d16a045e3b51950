"""DNS blocklists: the catalog (blocklists.toml), how to ask a list, and how to read its answer.

A list answers an A record in 127.0.0.0/8 for a listed IP or domain (RFC 5782). Some of those
answers are not listings at all: refusals (public resolver, quota, missing key) and
misconfiguration codes. Those are read first and never reported as "listed"; a list whose
RFC 5782 negative test point is listed answers for everything and is never believed.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rdatatype

from reputation.bounds import MAX_EVIDENCE_LINES, shorten
from reputation.dns.resolver import Answer, Outcome, Resolver
from reputation.inputs import IPAddress, toml_problem
from reputation.redaction import redact, remember
from reputation.report import BlocklistResult, ListingStatus

SCHEMA_VERSION = 1
SUBJECTS = ("ip4", "ip6", "domain")
STATUSES = ("active", "retired")
MATCHES = ("exact", "bitmask")
SEVERITIES = ("block", "policy", "info", "allow")  # most serious first
ERROR_KINDS = ("refused", "error")
HEALTH_STATUSES = (
    "ok", "dead", "lists_everything", "drops_queries", "refuses", "error", "untestable",
)  # fmt: skip

LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
RFC5782_CLEAN_IP = "127.0.0.1"
RFC5782_CLEAN_DOMAIN = "invalid"
LISTS_EVERYTHING = "lists everything"
LOOKS_EMPTY = "list looks empty or dead"
RFC5782_NEGATIVE_VALUE = ipaddress.IPv4Address("127.0.0.1")
BITMASK_FORM = ipaddress.IPv4Network("127.0.0.0/24")
UNDOCUMENTED_NO_CODES = "return code not documented by the list"

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_URL = re.compile(r"^https?://\S+$")


class CatalogError(ValueError):
    """The catalog cannot be used; the one-line message names the file and the problem."""


# ---------------------------------------------------------------------------------------------
# The catalog model
# ---------------------------------------------------------------------------------------------

IPv4Range = tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]


@dataclass(frozen=True)
class _Answered:
    """A catalog entry for an A value or an inclusive range of them."""

    value: str
    low: ipaddress.IPv4Address
    high: ipaddress.IPv4Address

    def matches(self, address: ipaddress.IPv4Address) -> bool:
        return self.low <= address <= self.high


@dataclass(frozen=True)
class Code(_Answered):
    """A documented listing answer."""

    meaning: str
    severity: str
    source: str
    unconfirmed: bool = False


@dataclass(frozen=True)
class Bit:
    """One bit of the last octet of a bitmask list's answer."""

    bit: int
    meaning: str
    severity: str
    source: str
    unconfirmed: bool = False


@dataclass(frozen=True)
class ErrorCode(_Answered):
    """An answer that is not a listing: a refusal or a misconfiguration."""

    kind: str
    meaning: str
    remedy: str
    source: str
    unconfirmed: bool = False


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
        wanted = _normal_name(zone)
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


# ---------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------


def load_catalog(path: Path | None = None) -> Catalog:
    """The catalog at `path`; None = the packaged blocklists.toml (parsed once per process)."""
    if path is None:
        return _default_catalog()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the catalog ({exc.strerror or exc})") from None
    problem = toml_problem(data.decode("utf-8", errors="replace"))
    if problem is not None:
        raise CatalogError(f"{path}: not read: {problem}")
    return parse_catalog(data, str(path))


@functools.cache
def _default_catalog() -> Catalog:
    packaged = resources.files("reputation") / "blocklists.toml"
    if packaged.is_file():
        return parse_catalog(packaged.read_bytes(), str(packaged))
    return load_catalog(Path(__file__).resolve().parents[2] / "blocklists.toml")


def parse_catalog(data: bytes, origin: str) -> Catalog:
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{origin}: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{origin}: not valid TOML: {exc}") from None
    top = _Table(document, "top level", origin, {"schema_version", "updated", "list"})
    version = top.integer("schema_version")
    if version != SCHEMA_VERSION:
        raise top.error(f"schema_version {version} is not supported (expected {SCHEMA_VERSION})")
    top.text("updated")
    entries = top.tables("list", required=True)
    lists = [_parse_list(entry, index, origin) for index, entry in enumerate(entries, 1)]
    _check_unique(lists, origin)
    return Catalog(lists, origin)


_LIST_KEYS = {
    "id", "name", "operator", "zone", "subject", "status", "status_date", "status_note",
    "status_source", "default", "match", "access", "access_source", "public_resolvers_refused",
    "key_env", "key_zone", "requires_key", "test_listed", "test_clean", "lookup_url",
    "removal_url", "sources", "code", "bit", "error", "free_queries_per_day",
}  # fmt: skip
_CODE_KEYS = {"value", "meaning", "severity", "source", "unconfirmed"}
_BIT_KEYS = {"bit", "meaning", "severity", "source", "unconfirmed"}
_ERROR_KEYS = {"value", "kind", "meaning", "remedy", "source", "unconfirmed"}


class _Table:
    """One TOML table read strictly: known keys only, typed values, one-line errors."""

    def __init__(self, data: Any, where: str, origin: str, allowed: set[str]) -> None:
        self.where = where
        self.origin = origin
        if not isinstance(data, dict):
            raise self.error("must be a table")
        self.data: dict[str, Any] = data
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.error(f"unknown field {unknown[0]!r}")

    def error(self, problem: str) -> CatalogError:
        return CatalogError(f"{self.origin}: {self.where}: {problem}")

    def _get(self, key: str, kind: type, required: bool, default: Any) -> Any:
        if key not in self.data:
            if required:
                raise self.error(f"missing field {key!r}")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(f"{key} must be a {kind.__name__}, not {value!r}")
        return value

    def text(self, key: str, *, required: bool = False) -> str:
        return str(self._get(key, str, required, "")).strip()

    def flag(self, key: str, *, required: bool = False) -> bool:
        return bool(self._get(key, bool, required, False))

    def integer(self, key: str) -> int:
        return int(self._get(key, int, True, 0))

    def texts(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        values = self._get(key, list, required, [])
        if not all(isinstance(v, str) for v in values):
            raise self.error(f"{key} must be a list of strings")
        return tuple(v.strip() for v in values)

    def tables(self, key: str, *, required: bool = False) -> list[Any]:
        return list(self._get(key, list, required, []))

    def choice(self, key: str, options: Sequence[str]) -> str:
        value = self.text(key, required=True)
        if value not in options:
            raise self.error(f"{key} {value!r} is not one of {', '.join(options)}")
        return value

    def url(self, key: str, *, required: bool = False) -> str:
        value = self.text(key, required=required)
        if (value or required) and not _URL.match(value):
            raise self.error(f"{key} {value!r} is not an http(s) URL")
        return value


def _parse_list(entry: Any, index: int, origin: str) -> Blocklist:
    raw_id = entry.get("id") if isinstance(entry, dict) else None
    where = f"list {raw_id!r}" if isinstance(raw_id, str) and raw_id else f"list #{index}"
    table = _Table(entry, where, origin, _LIST_KEYS)
    list_id = table.text("id", required=True)
    if not _ID.match(list_id):
        raise table.error(f"id {list_id!r} must be lowercase letters, digits and hyphens")
    match = table.choice("match", MATCHES)
    blocklist = Blocklist(
        id=list_id,
        name=table.text("name", required=True),
        operator=table.text("operator"),
        zone=_zone(table, "zone"),
        subject=_subjects(table),
        status=table.choice("status", STATUSES),
        status_date=_date(table, "status_date"),
        status_note=table.text("status_note"),
        status_source=table.url("status_source"),
        default=table.flag("default", required=True),
        match=match,
        access=table.text("access"),
        access_source=table.url("access_source"),
        public_resolvers_refused=table.flag("public_resolvers_refused"),
        key_env=table.text("key_env"),
        key_zone=table.text("key_zone"),
        requires_key=table.flag("requires_key"),
        test_listed=_test_point(table, "test_listed"),
        test_clean=_test_point(table, "test_clean"),
        lookup_url=table.url("lookup_url"),
        removal_url=table.url("removal_url"),
        sources=_urls(table, "sources"),
        codes=tuple(_parse_code(c, table) for c in table.tables("code")),
        bits=tuple(_parse_bit(b, table) for b in table.tables("bit")),
        errors=tuple(_parse_error(e, table) for e in table.tables("error")),
        free_queries_per_day=_free_limit(table),
    )
    _check_list(blocklist, table)
    return blocklist


def _check_list(blocklist: Blocklist, table: _Table) -> None:
    if blocklist.retired and blocklist.default:
        raise table.error("a retired list cannot be default = true")
    if blocklist.match == "exact" and blocklist.bits:
        raise table.error("[[list.bit]] needs match = 'bitmask'")
    if blocklist.match == "bitmask" and blocklist.codes:
        raise table.error("[[list.code]] needs match = 'exact'")
    if bool(blocklist.key_env) != bool(blocklist.key_zone):
        raise table.error("key_env and key_zone must be given together")
    if blocklist.key_env and not re.match(r"^[A-Z][A-Z0-9_]*$", blocklist.key_env):
        raise table.error(f"key_env {blocklist.key_env!r} is not an environment variable name")
    if blocklist.key_zone:
        if "{key}" not in blocklist.key_zone:
            raise table.error(f"key_zone {blocklist.key_zone!r} has no {{key}}")
        _check_name(blocklist.key_zone.replace("{key}", "key"), "key_zone", table)
    bits = [b.bit for b in blocklist.bits]
    if len(bits) != len(set(bits)):
        raise table.error("a bit is listed twice")


def _free_limit(table: _Table) -> int:
    limit = int(table._get("free_queries_per_day", int, False, 0))
    if limit < 0 or (limit and not table.text("access_source")):
        raise table.error("free_queries_per_day must be positive and sourced by access_source")
    return limit


def _check_unique(lists: list[Blocklist], origin: str) -> None:
    for attribute in ("id", "zone"):
        seen: set[str] = set()
        for blocklist in lists:
            value = getattr(blocklist, attribute)
            if value in seen:
                raise CatalogError(
                    f"{origin}: list {blocklist.id!r}: duplicate {attribute} {value!r}"
                )
            seen.add(value)


def _parse_code(data: Any, parent: _Table) -> Code:
    table = _Table(data, f"{parent.where} code {_peek(data, 'value')}", parent.origin, _CODE_KEYS)
    low, high = _value_range(table)
    return Code(
        value=table.text("value", required=True),
        low=low,
        high=high,
        meaning=table.text("meaning", required=True),
        severity=table.choice("severity", SEVERITIES),
        source=table.url("source", required=True),
        unconfirmed=table.flag("unconfirmed"),
    )


def _parse_bit(data: Any, parent: _Table) -> Bit:
    table = _Table(data, f"{parent.where} bit {_peek(data, 'bit')}", parent.origin, _BIT_KEYS)
    bit = table.integer("bit")
    if bit not in (1, 2, 4, 8, 16, 32, 64, 128):
        raise table.error(f"bit {bit} is not a single bit of an octet (1, 2, 4, ... 128)")
    return Bit(
        bit=bit,
        meaning=table.text("meaning", required=True),
        severity=table.choice("severity", SEVERITIES),
        source=table.url("source", required=True),
        unconfirmed=table.flag("unconfirmed"),
    )


def _parse_error(data: Any, parent: _Table) -> ErrorCode:
    where = f"{parent.where} error {_peek(data, 'value')}"
    table = _Table(data, where, parent.origin, _ERROR_KEYS)
    low, high = _value_range(table)
    return ErrorCode(
        value=table.text("value", required=True),
        low=low,
        high=high,
        kind=table.choice("kind", ERROR_KINDS),
        meaning=table.text("meaning", required=True),
        remedy=table.text("remedy", required=True),
        source=table.url("source", required=True),
        unconfirmed=table.flag("unconfirmed"),
    )


def _peek(data: Any, key: str) -> str:
    return str(data.get(key, "?")) if isinstance(data, dict) else "?"


def _value_range(table: _Table) -> IPv4Range:
    value = table.text("value", required=True)
    first, _, last = value.partition("-")
    try:
        low = ipaddress.IPv4Address(first.strip())
        high = ipaddress.IPv4Address((last or first).strip())
    except ValueError:
        raise table.error(f"value {value!r} is not an IPv4 address or range 'a-b'") from None
    if low not in LOOPBACK or high not in LOOPBACK:
        raise table.error(f"value {value!r} is outside 127.0.0.0/8")
    if low > high:
        raise table.error(f"value {value!r}: range start is after its end")
    return low, high


def _subjects(table: _Table) -> tuple[str, ...]:
    subjects = table.texts("subject", required=True)
    if not subjects:
        raise table.error("subject is empty")
    for subject in subjects:
        if subject not in SUBJECTS:
            raise table.error(f"subject {subject!r} is not one of {', '.join(SUBJECTS)}")
    if len(set(subjects)) != len(subjects):
        raise table.error("subject lists a value twice")
    return subjects


def _zone(table: _Table, key: str) -> str:
    zone = table.text(key, required=True)
    if zone != _normal_name(zone):
        raise table.error(f"{key} {zone!r} must be lowercase without a trailing dot")
    _check_name(zone, key, table)
    return zone


def _check_name(name: str, key: str, table: _Table) -> None:
    try:
        parsed = dns.name.from_text(name)
    except dns.exception.DNSException as exc:
        raise table.error(f"{key} {name!r} is not a DNS name ({exc})") from None
    if len(parsed.labels) < 3:  # at least two labels plus the root
        raise table.error(f"{key} {name!r} is not a DNS zone below a TLD")


def _date(table: _Table, key: str) -> str:
    value = table.text(key)
    if value and not _DATE.match(value):
        raise table.error(f"{key} {value!r} is not a YYYY-MM-DD date")
    return value


def _test_point(table: _Table, key: str) -> str:
    value = table.text(key)
    if value and not _is_ip(value):
        try:
            dns.name.from_text(value)
        except dns.exception.DNSException:
            raise table.error(f"{key} {value!r} is neither an IP address nor a DNS name") from None
    return value


def _urls(table: _Table, key: str) -> tuple[str, ...]:
    urls = table.texts(key)
    for url in urls:
        if not _URL.match(url):
            raise table.error(f"{key} entry {url!r} is not an http(s) URL")
    return urls


# ---------------------------------------------------------------------------------------------
# Query names
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)  # every list asks about the same few addresses
def query_name(ip_or_domain: str, subject: str) -> str:
    """The name to put before the zone: reversed octets, reversed nibbles, or the domain."""
    if subject == "domain":
        return _ascii_domain(ip_or_domain)
    if subject not in ("ip", "ip4", "ip6"):
        raise ValueError(f"unknown subject {subject!r}")
    address = ipaddress.ip_address(ip_or_domain.strip().strip("[]"))
    if subject != "ip" and subject != f"ip{address.version}":
        raise ValueError(f"{ip_or_domain!r} is not an {subject} address")
    if address.version == 4:
        return ".".join(reversed(str(address).split(".")))
    return ".".join(reversed(address.exploded.replace(":", "")))


def _ascii_domain(domain: str) -> str:
    text = domain.strip().rstrip(".")
    if text.isascii():
        return text.lower()
    name = dns.name.from_unicode(text, idna_codec=dns.name.IDNA_2008_Practical)
    return name.to_text(omit_final_dot=True).lower()


def _normal_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def point_name(point: str, zone: str) -> str:
    """The full name of a test point (an IP address or a name) in `zone`."""
    return f"{query_name(point, 'ip' if _is_ip(point) else 'domain')}.{zone}"


# ---------------------------------------------------------------------------------------------
# Reading one answer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What one A answer means for one list."""

    status: ListingStatus
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    severity: str = ""
    detail: str = ""
    remedy: str = ""


def interpret(blocklist: Blocklist, answer: Answer, *, key_used: bool = False) -> Reading:
    """Read an A answer: clean, listed (with meanings), refused or error. Pure."""
    if answer.absent:
        return Reading(ListingStatus.CLEAN, detail="not listed")
    if answer.outcome is Outcome.TIMEOUT:
        return Reading(ListingStatus.ERROR, detail=_with("timed out", answer.detail))
    if answer.outcome is Outcome.SERVFAIL:
        return Reading(ListingStatus.ERROR, detail=_with("SERVFAIL", answer.detail))
    if answer.outcome is Outcome.REFUSED:
        detail = _with("the DNS server answered REFUSED", answer.detail)
        return Reading(
            ListingStatus.REFUSED, detail=detail, remedy=_refusal_remedy(blocklist, key_used)
        )
    if not answer.ok:
        return Reading(ListingStatus.ERROR, detail=_with("lookup failed", answer.detail))
    values = a_values(answer)
    if not values:
        return Reading(ListingStatus.ERROR, detail="answer without A records")
    return read_values(blocklist, values)


def _with(words: str, detail: str) -> str:
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


# ---------------------------------------------------------------------------------------------
# Looking up an IP or domain
# ---------------------------------------------------------------------------------------------


async def lookup(
    resolver: Resolver,
    blocklist: Blocklist,
    ip: IPAddress | None,
    domain: str | None,
    env: Mapping[str, str],
) -> list[BlocklistResult]:
    """One result per subject of `blocklist` that applies to `ip` / `domain`."""
    targets = _targets(blocklist, ip, domain)
    if blocklist.requires_key and blocklist.key_env and not blocklist.key(env):
        return [_skipped(blocklist, subject, text) for subject, text in targets]
    if len(targets) == 1:  # the usual case: no gather, no extra task
        return [await _lookup_one(resolver, blocklist, *targets[0], env)]
    asks = (_lookup_one(resolver, blocklist, subject, text, env) for subject, text in targets)
    return list(await asyncio.gather(*asks))


def unanswered(
    blocklist: Blocklist, ip: IPAddress | None, domain: str | None, detail: str
) -> list[BlocklistResult]:
    """An error result for each subject of a lookup that could not be completed."""
    reading = Reading(ListingStatus.ERROR, detail=detail, remedy="re-run when the list answers")
    return [
        _result(blocklist, subject, text, reading)
        for subject, text in _targets(blocklist, ip, domain)
    ]


def _targets(
    blocklist: Blocklist, ip: IPAddress | None, domain: str | None
) -> list[tuple[str, str]]:
    targets: list[tuple[str, str]] = []
    if ip is not None and f"ip{ip.version}" in blocklist.subject:
        targets.append((f"ip{ip.version}", str(ip)))
    if domain and blocklist.subjects_domain:
        targets.append(("domain", _ascii_domain(domain)))
    return targets


def _skipped(blocklist: Blocklist, subject: str, text: str) -> BlocklistResult:
    return _result(
        blocklist,
        subject,
        text,
        Reading(
            ListingStatus.SKIPPED,
            detail=f"not queried: needs a key in {blocklist.key_env} ({blocklist.access})",
            remedy=f"set {blocklist.key_env} to use this list",
        ),
    )


async def _lookup_one(
    resolver: Resolver, blocklist: Blocklist, subject: str, text: str, env: Mapping[str, str]
) -> BlocklistResult:
    zone = blocklist.effective_zone(env)
    name = f"{query_name(text, subject)}.{zone}"
    answer, negative, positive = await asyncio.gather(
        resolver.query(name, "A"),
        _ask_point(resolver, blocklist.negative_test_point, zone),
        _ask_point(resolver, blocklist.test_listed, zone),
    )
    reading = interpret(blocklist, answer, key_used=blocklist.key(env) is not None)
    reading = _check_negative(blocklist, reading, negative)
    reading = _check_positive(blocklist, reading, positive)
    reading = _check_retired(blocklist, reading)
    txt: list[str] = []
    if reading.status in (ListingStatus.LISTED, ListingStatus.REFUSED) and answer.ok:
        txt = (await resolver.query(name, "TXT")).records
    return _result(blocklist, subject, text, reading, txt)


async def _ask_point(resolver: Resolver, point: str, zone: str) -> Answer | None:
    if not point:
        return None
    return await resolver.query(point_name(point, zone), "A")


def _check_negative(blocklist: Blocklist, reading: Reading, negative: Answer | None) -> Reading:
    """A listing is only believed when the RFC 5782 negative test point is not listed."""
    if reading.status is not ListingStatus.LISTED or negative is None:
        return reading
    point = blocklist.negative_test_point
    if _answers_everything(blocklist, negative):
        detail = (
            f"{LISTS_EVERYTHING}: the RFC 5782 negative test point {point} is listed"
            " — dead or wildcarded list"
        )
        remedy = "do not use this list; it answers for names it must not list"
        return Reading(ListingStatus.ERROR, reading.codes, detail=detail, remedy=remedy)
    if negative.absent:
        return reading
    why = interpret(blocklist, negative).detail or negative.evidence()
    detail = (
        f"{reading.detail}; but its RFC 5782 negative test point {point} could not be checked"
        f" ({why}), so a wildcard cannot be ruled out"
    )
    return Reading(ListingStatus.ERROR, reading.codes, reading.meanings, reading.severity, detail)


def _check_positive(blocklist: Blocklist, reading: Reading, positive: Answer | None) -> Reading:
    """A clean answer is only believed when the list still lists its RFC 5782 positive test point.

    An emptied or dead zone answers NXDOMAIN for everything, which would read as "clean".
    """
    if reading.status is not ListingStatus.CLEAN or positive is None or positive.ok:
        return reading
    if positive.unverified:
        detail = (
            f"not listed, but its RFC 5782 test point {blocklist.test_listed} could not be checked"
            f" ({positive.evidence()}), so the list may be dead"
        )
        return Reading(ListingStatus.ERROR, detail=detail, remedy="re-run when the list answers")
    detail = (
        f"{LOOKS_EMPTY}: its RFC 5782 test point {blocklist.test_listed} is not listed either,"
        " so a clean answer proves nothing"
    )
    return Reading(
        ListingStatus.ERROR,
        detail=detail,
        remedy="do not rely on this list; check `reputation lists --health`",
    )


def _answers_everything(blocklist: Blocklist, negative: Answer) -> bool:
    """The negative test point got an A answer that is not a refusal."""
    if not negative.ok:
        return False
    return interpret(blocklist, negative).status in (ListingStatus.LISTED, ListingStatus.ERROR)


def _check_retired(blocklist: Blocklist, reading: Reading) -> Reading:
    if not blocklist.retired or reading.status is not ListingStatus.LISTED:
        return reading
    since = f" since {blocklist.status_date}" if blocklist.status_date else ""
    detail = (
        f"retired list{since}: {blocklist.status_note or 'no longer maintained'};"
        f" its answer ({', '.join(reading.codes)}) is not a listing"
    )
    return Reading(ListingStatus.ERROR, reading.codes, detail=detail, remedy="stop querying it")


def _result(
    blocklist: Blocklist, subject: str, text: str, reading: Reading, txt: list[str] | None = None
) -> BlocklistResult:
    return BlocklistResult(
        zone=blocklist.zone,
        name=blocklist.name,
        subject="domain" if subject == "domain" else "ip",
        query=text,
        status=reading.status,
        codes=list(reading.codes),
        meanings=list(reading.meanings),
        severity=reading.severity,
        txt=[shorten(redact(line)) for line in (txt or [])[:MAX_EVIDENCE_LINES]],
        removal_url=blocklist.removal_for(text),
        detail=shorten(redact(reading.detail)),
        list_id=blocklist.id,
        remedy=redact(reading.remedy),
    )


def resolver_warnings(results: list[BlocklistResult]) -> list[str]:
    """One line per list this resolver cannot use: it is refused, or the list lists everything."""
    lines: list[str] = []
    seen: set[str] = set()
    for result in results:
        unusable = result.status is ListingStatus.REFUSED or (
            result.status is ListingStatus.ERROR
            and result.detail.startswith((LISTS_EVERYTHING, LOOKS_EMPTY))
        )
        if not unusable or result.zone in seen:
            continue
        seen.add(result.zone)
        remedy = f" — {result.remedy}" if result.remedy else ""
        lines.append(f"{result.name} ({result.zone}): {result.detail}{remedy}")
    return lines


# ---------------------------------------------------------------------------------------------
# Health of the lists themselves (RFC 5782 test points)
# ---------------------------------------------------------------------------------------------


@dataclass
class Health:
    zone: str
    name: str
    status: str  # one of HEALTH_STATUSES
    detail: str
    list_id: str = ""


async def health(
    resolver: Resolver, lists: Sequence[Blocklist], env: Mapping[str, str] | None = None
) -> list[Health]:
    """Ask every list its RFC 5782 test points, concurrently, and say whether it can be used."""
    return list(await asyncio.gather(*(_health_one(resolver, b, env or {}) for b in lists)))


async def _health_one(resolver: Resolver, blocklist: Blocklist, env: Mapping[str, str]) -> Health:
    positive_point, negative_point = blocklist.test_listed, blocklist.negative_test_point
    if not positive_point and not negative_point:
        status, detail = "untestable", "the list documents no RFC 5782 test points"
    else:
        zone = blocklist.effective_zone(env)
        positive, negative = await asyncio.gather(
            _ask_point(resolver, positive_point, zone), _ask_point(resolver, negative_point, zone)
        )
        status, detail = _judge(blocklist, (positive_point, positive), (negative_point, negative))
    if blocklist.retired:
        since = f" since {blocklist.status_date}" if blocklist.status_date else ""
        detail = f"retired list{since}; {detail}"
    return Health(blocklist.zone, blocklist.name, status, redact(detail), blocklist.id)


Probe = tuple[str, Answer | None]


def _judge(blocklist: Blocklist, positive: Probe, negative: Probe) -> tuple[str, str]:
    probes = [("positive", *positive), ("negative", *negative)]
    asked = [(label, point, answer) for label, point, answer in probes if answer is not None]
    verdict = _judge_transport(asked) or _judge_codes(blocklist, asked)
    return verdict or _judge_points(positive, negative)


def _judge_transport(asked: list[tuple[str, str, Answer]]) -> tuple[str, str] | None:
    for outcome, status in ((Outcome.TIMEOUT, "drops_queries"), (Outcome.REFUSED, "refuses")):
        for label, point, answer in asked:
            if answer.outcome is outcome:
                return status, f"{label} test point {point}: {answer.evidence()}"
    for label, point, answer in asked:
        if answer.unverified:
            return "error", f"{label} test point {point}: {answer.evidence()}"
    return None


def _judge_codes(
    blocklist: Blocklist, asked: list[tuple[str, str, Answer]]
) -> tuple[str, str] | None:
    for label, point, answer in asked:
        for value in a_values(answer):
            error = blocklist.error_for(value)
            if error is not None:
                status = "refuses" if error.kind == "refused" else "error"
                return status, f"{label} test point {point} answered {value}: {error.meaning}"
    return None


def _judge_points(positive: Probe, negative: Probe) -> tuple[str, str]:
    (positive_point, positive_answer), (negative_point, negative_answer) = positive, negative
    if negative_answer is not None and negative_answer.ok:
        values = ", ".join(str(v) for v in a_values(negative_answer))
        return "lists_everything", (
            f"the RFC 5782 negative test point {negative_point} is listed (A {values})"
            " — dead or wildcarded list"
        )
    if positive_answer is None:
        return "untestable", (
            f"negative test point {negative_point} is not listed (good), but the list documents"
            " no positive test point, so a working list cannot be told from an empty one"
        )
    if positive_answer.absent:
        return "dead", (
            f"positive test point {positive_point} is not listed: the zone looks empty"
            " (shut down, or the test point is not served)"
        )
    outside = [v for v in a_values(positive_answer) if v not in LOOPBACK]
    if outside:
        return "error", f"positive test point {positive_point} answered {outside[0]}, outside 127/8"
    if negative_answer is None:
        return "untestable", (
            f"positive test point {positive_point} is listed, but the list documents no negative"
            " test point, so a working list cannot be told from a wildcard"
        )
    return "ok", f"test point {positive_point} listed, {negative_point} not listed"
