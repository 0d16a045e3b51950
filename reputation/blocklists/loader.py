"""Reading blocklists.toml strictly: known fields only, typed values, one-line errors."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import dns.exception
import dns.name

from reputation import compiled
from reputation.blocklists.catalog import (
    ERROR_KINDS,
    LOOPBACK,
    MATCHES,
    SCHEMA_VERSION,
    SEVERITIES,
    STATUSES,
    SUBJECTS,
    Bit,
    Blocklist,
    Catalog,
    CatalogError,
    Code,
    ErrorCode,
    IPv4Range,
)
from reputation.blocklists.names import is_ip, normal_name
from reputation.inputs import toml_problem

Answered = TypeVar("Answered", Code, ErrorCode)

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_URL = re.compile(r"^https?://\S+$")


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
    """The packaged catalog, kept parsed in the user's cache between runs."""
    packaged = resources.files("reputation") / "blocklists.toml"
    if not packaged.is_file():  # a source checkout: the catalog beside the package
        packaged = Path(__file__).resolve().parents[2] / "blocklists.toml"  # type: ignore[assignment]
    code = [Path(__file__), Path(__file__).with_name("catalog.py")]
    return compiled.cached(
        "catalog",
        [Path(str(packaged)), *code],
        lambda: parse_catalog(packaged.read_bytes(), str(packaged)),
    )


def parse_catalog(data: bytes, origin: str) -> Catalog:
    import tomllib  # the packaged catalog is usually read from the compiled cache

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
    table = _Table(entry, where, origin, set(_LIST_FIELDS))
    blocklist = Blocklist(**_read(table, _LIST_FIELDS, _TABLE_ATTRIBUTES))
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


def _free_limit(table: _Table, key: str) -> int:
    limit = int(table._get(key, int, False, 0))
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


def _parse_bit(data: Any, parent: _Table) -> Bit:
    table = _Table(
        data, f"{parent.where} bit {_peek(data, 'bit')}", parent.origin, set(_BIT_FIELDS)
    )
    return Bit(**_read(table, _BIT_FIELDS))


def _answered(label: str, model: type[Answered], fields: dict[str, Reader]) -> Reader:
    """The reader of [[list.code]] or [[list.error]] tables: a value or range, and its fields."""

    def parse(data: Any, parent: _Table) -> Answered:
        where = f"{parent.where} {label} {_peek(data, 'value')}"
        table = _Table(data, where, parent.origin, set(fields))
        low, high = _value_range(table)
        return model(**_read(table, fields), low=low, high=high)

    return _tables_of(parse)


def _bit(table: _Table, key: str) -> int:
    bit = table.integer(key)
    if bit not in (1, 2, 4, 8, 16, 32, 64, 128):
        raise table.error(f"bit {bit} is not a single bit of an octet (1, 2, 4, ... 128)")
    return bit


def _list_id(table: _Table, key: str) -> str:
    list_id = table.text(key, required=True)
    if not _ID.match(list_id):
        raise table.error(f"id {list_id!r} must be lowercase letters, digits and hyphens")
    return list_id


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


def _subjects(table: _Table, key: str) -> tuple[str, ...]:
    subjects = table.texts(key, required=True)
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
    if zone != normal_name(zone):
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
    if value and not is_ip(value):
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


# Each catalog field, declared once: its TOML key and how it is read. A key is the name of the
# model's field, but for the [[list.code]], [[list.bit]] and [[list.error]] tables.
Reader = Callable[[_Table, str], Any]
_TABLE_ATTRIBUTES = {"code": "codes", "bit": "bits", "error": "errors"}


def _text(table: _Table, key: str) -> str:
    return table.text(key)


def _required_text(table: _Table, key: str) -> str:
    return table.text(key, required=True)


def _url(table: _Table, key: str) -> str:
    return table.url(key)


def _required_url(table: _Table, key: str) -> str:
    return table.url(key, required=True)


def _flag(table: _Table, key: str) -> bool:
    return table.flag(key)


def _one_of(options: Sequence[str]) -> Reader:
    return lambda table, key: table.choice(key, options)


def _tables_of(parse: Callable[[Any, _Table], Any]) -> Reader:
    return lambda table, key: tuple(parse(entry, table) for entry in table.tables(key))


_DOCUMENTED: dict[str, Reader] = {
    "meaning": _required_text,
    "source": _required_url,
    "unconfirmed": _flag,
}
_SEVERITY: dict[str, Reader] = {"severity": _one_of(SEVERITIES)}
_CODE_FIELDS: dict[str, Reader] = {"value": _required_text, **_SEVERITY, **_DOCUMENTED}
_BIT_FIELDS: dict[str, Reader] = {"bit": _bit, **_SEVERITY, **_DOCUMENTED}
_ERROR_FIELDS: dict[str, Reader] = {
    "value": _required_text,
    "kind": _one_of(ERROR_KINDS),
    "remedy": _required_text,
    **_DOCUMENTED,
}


_LIST_FIELDS: dict[str, Reader] = {
    "id": _list_id,
    "name": _required_text,
    "operator": _text,
    "zone": _zone,
    "subject": _subjects,
    "status": _one_of(STATUSES),
    "status_date": _date,
    "status_note": _text,
    "status_source": _url,
    "default": lambda table, key: table.flag(key, required=True),
    "match": _one_of(MATCHES),
    "access": _text,
    "access_source": _url,
    "public_resolvers_refused": _flag,
    "key_env": _text,
    "key_zone": _text,
    "requires_key": _flag,
    "test_listed": _test_point,
    "test_clean": _test_point,
    "lookup_url": _url,
    "removal_url": _url,
    "sources": _urls,
    "code": _answered("code", Code, _CODE_FIELDS),
    "bit": _tables_of(_parse_bit),
    "error": _answered("error", ErrorCode, _ERROR_FIELDS),
    "free_queries_per_day": _free_limit,
}


def _read(
    table: _Table, fields: dict[str, Reader], attributes: dict[str, str] | None = None
) -> dict[str, Any]:
    """The model's keyword arguments: every declared field, read in declaration order."""
    names = attributes or {}
    return {names.get(key, key): read(table, key) for key, read in fields.items()}
