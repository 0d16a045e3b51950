"""Audit targets from CSV, TOML, plain lines or standard input, read lazily, one at a time.

A CIDR range in the ip field expands to each of its addresses. A line that cannot be used
becomes a BadLine naming the file and line; reading carries on with the next one.
"""

from __future__ import annotations

import csv
import functools
import ipaddress
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from reputation.inputs import BadInput, parse_domain, parse_ip

MAX_RANGE = 65_536  # addresses one line may expand to (an IPv4 /16)
CSV_COLUMNS = ("domain", "ip", "helo", "tags")


@dataclass(frozen=True)
class AuditTarget:
    domain: str
    ip: str
    helo: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Identifies the target across runs: the same sender, IP and greeting."""
        return f"{self.domain}|{self.ip}|{self.helo or ''}"


@dataclass(frozen=True)
class BadLine:
    source: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.problem}"


Item = AuditTarget | BadLine


def read_targets(sources: Iterable[str], stdin: TextIO | None = None) -> Iterator[Item]:
    """Every target of every source in order; `-` is standard input (plain or CSV)."""
    for source in sources:
        if source == "-":
            yield from _read_text(stdin or sys.stdin, "<stdin>")
            continue
        path = Path(source)
        try:
            if path.suffix.lower() == ".toml":
                yield from _read_toml(path)
            else:
                with path.open(encoding="utf-8", newline="") as handle:
                    yield from _read_text(handle, source)
        except OSError as exc:
            yield BadLine(source, 0, f"cannot read ({exc.strerror or exc})")
        except UnicodeDecodeError as exc:
            yield BadLine(source, 0, f"not UTF-8 text ({exc.reason})")


def _read_text(handle: TextIO, source: str) -> Iterator[Item]:
    lines = enumerate(handle, 1)
    for number, line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if _is_csv_header(text):
            yield from _read_csv(text, lines, source)
        else:
            yield from _plain_line(text, number, source)
            yield from _read_plain(lines, source)
        return


def _is_csv_header(line: str) -> bool:
    names = {name.strip().lower() for name in line.split(",")}
    return {"domain", "ip"} <= names


def _read_plain(lines: Iterator[tuple[int, str]], source: str) -> Iterator[Item]:
    for number, line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            yield from _plain_line(text, number, source)


def _plain_line(text: str, number: int, source: str) -> Iterator[Item]:
    fields = text.split()
    if len(fields) not in (2, 3):
        yield BadLine(source, number, f"expected 'domain ip [helo]', got {len(fields)} fields")
        return
    yield from _expand(
        fields[0], fields[1], fields[2] if len(fields) == 3 else None, (), source, number
    )


def _read_csv(header: str, lines: Iterator[tuple[int, str]], source: str) -> Iterator[Item]:
    columns = [c.strip().lower() for c in next(csv.reader([header]))]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown:
        yield BadLine(
            source, 1, f"unknown CSV column {unknown[0]!r} (known: {', '.join(CSV_COLUMNS)})"
        )
        return
    for number, line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        values = next(csv.reader([line]))
        if len(values) > len(columns):
            yield BadLine(source, number, f"{len(values)} fields, the header has {len(columns)}")
            continue
        row = dict(zip(columns, (v.strip() for v in values), strict=False))
        tags = tuple(t for t in row.get("tags", "").replace(";", " ").split() if t)
        yield from _expand(
            row.get("domain", ""), row.get("ip", ""), row.get("helo") or None, tags, source, number
        )


def _read_toml(path: Path) -> Iterator[Item]:
    source = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        yield BadLine(source, 0, f"not valid TOML: {exc}")
        return
    tables = document.get("target", [])
    if not isinstance(tables, list):
        yield BadLine(source, 0, "expected [[target]] tables")
        return
    for index, table in enumerate(tables, 1):
        where = f"[[target]] #{index}"
        if not isinstance(table, dict) or not _all_text(table):
            yield BadLine(source, 0, f"{where}: domain, ip and helo must be strings")
            continue
        unknown = sorted(set(table) - set(CSV_COLUMNS))
        if unknown:
            yield BadLine(source, 0, f"{where}: unknown key {unknown[0]!r}")
            continue
        tags = table.get("tags", [])
        tags = tuple(tags.split()) if isinstance(tags, str) else tuple(str(t) for t in tags)
        for item in _expand(
            table.get("domain", ""), table.get("ip", ""), table.get("helo"), tags, source, 0
        ):
            if isinstance(item, BadLine):
                item = BadLine(source, 0, f"{where}: {item.problem}")
            yield item


def _all_text(table: dict[str, Any]) -> bool:
    return all(isinstance(table.get(k, ""), str) for k in ("domain", "ip", "helo"))


def _expand(
    domain: str, ip: str, helo: str | None, tags: tuple[str, ...], source: str, number: int
) -> Iterator[Item]:
    """One target per address; a range expands lazily, so a /16 costs no memory."""
    try:
        domain_ascii = _ascii_domain(domain)
        if helo:
            _ascii_domain(helo)
        addresses = _addresses(ip)
    except BadInput as exc:
        yield BadLine(source, number, str(exc))
        return
    for address in addresses:
        yield AuditTarget(domain_ascii, address, helo or None, tags)


@functools.lru_cache(maxsize=4096)
def _ascii_domain(text: str) -> str:
    """Fleets repeat a few domains over many lines: each is parsed once."""
    return parse_domain(text).ascii


# An IPv4 address already written as parse_ip writes it (no leading zeros): a fleet's usual
# line, taken as it is; anything else goes through parse_ip.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _addresses(text: str) -> Iterator[str]:
    text = text.strip()
    if _CANONICAL_IPV4.fullmatch(text):
        return iter((text,))
    if "/" not in text:
        return iter([str(parse_ip(text))])
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise BadInput(f"invalid range {text!r}: {exc}") from None
    if network.num_addresses > MAX_RANGE:
        raise BadInput(
            f"range {text!r} has {network.num_addresses:,} addresses; at most {MAX_RANGE:,} a line"
        )
    return (str(address) for address in network)
