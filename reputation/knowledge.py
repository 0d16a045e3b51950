"""Loading the data files that hold knowledge which changes (names, ranges, patterns)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from reputation import compiled
from reputation.inputs import IPAddress


@dataclass(frozen=True)
class Reserved:
    suffix: str
    why: str
    source: str


@dataclass(frozen=True)
class SpecialRange:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    why: str
    source: str


@cache
def load_data(filename: str) -> dict[str, Any]:
    """A packaged data file, parsed once per process (callers only read it), and kept parsed
    in the user's cache between runs."""
    packaged = resources.files("reputation").joinpath("data", filename)
    return compiled.cached(
        f"data-{filename}",
        [Path(str(packaged))],
        lambda: _parse_toml(packaged.read_text("utf-8")),
    )


def _parse_toml(text: str) -> dict[str, Any]:
    import tomllib  # only when the compiled cache has no copy

    return tomllib.loads(text)


@cache
def reserved_domains() -> tuple[Reserved, ...]:
    return tuple(Reserved(**entry) for entry in load_data("names.toml")["reserved_domain"])


@cache
def special_ranges() -> tuple[SpecialRange, ...]:
    return tuple(
        SpecialRange(ipaddress.ip_network(e["network"]), e["why"], e["source"])
        for e in load_data("names.toml")["special_range"]
    )


@cache
def dynamic_ptr_tokens() -> frozenset[str]:
    return frozenset(load_data("names.toml")["ptr"]["dynamic_tokens"])


def reserved_suffix(domain_ascii: str) -> Reserved | None:
    for entry in reserved_domains():
        if domain_ascii == entry.suffix or domain_ascii.endswith("." + entry.suffix):
            return entry
    return None


def special_range(ip: IPAddress) -> SpecialRange | None:
    value = int(ip)
    for first, last, entry in _special_bounds(ip.version):
        if first <= value <= last:
            return entry
    return None


@cache
def _special_bounds(version: int) -> tuple[tuple[int, int, SpecialRange], ...]:
    """Each special range of one IP version as integer bounds: asked for every target of an
    audit, comparing integers is what keeps it cheap."""
    return tuple(
        (int(e.network.network_address), int(e.network.broadcast_address), e)
        for e in special_ranges()
        if e.network.version == version
    )
