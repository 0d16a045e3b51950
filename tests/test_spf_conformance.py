"""The openspf RFC 7208 test suite (../shared/corpora/spf), run through the lab DNS server.

Each scenario's zone data becomes one LabWorld served on 127.0.0.1; each suite test is one
pytest test, id "scenario/test". The suite's format rules (see the corpus README): a type SPF
record also stands as TXT unless the name has TXT records; "NONE" means no record; a bare
TIMEOUT makes the name's other types time out (the lab server drops those questions).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.dns.resolver import Resolver
from reputation.inputs import parse_ip
from reputation.protocols import spf

SUITE = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "spf" / "rfc7208-tests.yml"
TIMEOUT = 0.5  # seconds; the TIMEOUT cases wait this long
# A bare TIMEOUT drops every question about the name but those of types listed before it.
DROPPABLE_TYPES = ("A", "AAAA", "MX", "TXT", "SPF", "PTR", "CNAME", "NS", "SOA", "ANY")


@dataclass(frozen=True)
class SuiteCase:
    scenario: int
    name: str
    test: dict[str, Any]


def _load_scenarios() -> list[dict[str, Any]]:
    if not SUITE.is_file():
        return []
    with SUITE.open(encoding="utf-8") as stream:
        return [scenario for scenario in yaml.safe_load_all(stream) if scenario]


SCENARIOS = _load_scenarios()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _cases() -> list[Any]:
    if not SCENARIOS:
        return [pytest.param(None, id="suite-absent")]
    return [
        pytest.param(SuiteCase(index, name, test), id=f"{_slug(scenario['description'])}/{name}")
        for index, scenario in enumerate(SCENARIOS)
        for name, test in scenario["tests"].items()
    ]


# ---------------------------------------------------------------- zone data -> LabWorld


def _character_string(value: str) -> str:
    """A TXT character-string in presentation form: quoted, every unusual byte as \\DDD."""
    escaped = "".join(
        chr(byte) if 0x20 <= byte < 0x7F and chr(byte) not in '"\\' else f"\\{byte:03d}"
        for byte in value.encode("utf-8")
    )
    return f'"{escaped}"'


def _absolute(name: str) -> str:
    return name if name.endswith(".") else f"{name}."


def _presentation(rdtype: str, value: Any) -> str | None:
    """The record's rdata text for LabWorld.add, or None when it has none to give."""
    if rdtype in ("TXT", "SPF"):
        strings = [value] if isinstance(value, str) else list(value)
        # A record of zero strings cannot be written; the suite only uses one to check
        # that an implementation does not crash on it, so it is left out.
        return " ".join(_character_string(str(s)) for s in strings) if strings else None
    if rdtype == "MX":
        preference, host = value
        return f"{preference} {_absolute(host) if host else '.'}"
    if rdtype in ("PTR", "CNAME"):
        return _absolute(str(value))
    return str(value)


def _add_name(world: LabWorld, name: str, entries: list[Any]) -> None:
    has_txt = any(isinstance(entry, dict) and "TXT" in entry for entry in entries)
    answered: set[str] = set()
    as_txt: list[Any] = []
    for entry in entries:
        if entry == "TIMEOUT":
            for rdtype in DROPPABLE_TYPES:
                if rdtype not in answered:
                    world.drop(name, rdtype=rdtype)
            continue
        for rdtype, value in entry.items():
            if value == "NONE":
                continue
            if value == "TIMEOUT":
                world.drop(name, rdtype=rdtype)
                continue
            if rdtype == "SPF" and not has_txt:
                as_txt.append(value)
            text = _presentation(rdtype, value)
            if text is not None:
                world.add(name, rdtype, text)
                answered.add(rdtype)
    for value in as_txt:
        text = _presentation("TXT", value)
        if text is not None:
            world.add(name, "TXT", text)


def world_for(scenario: dict[str, Any]) -> LabWorld:
    world = LabWorld()
    for name, entries in scenario["zonedata"].items():
        _add_name(world, name, entries)
    return world


# ---------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def suite_servers() -> Iterator[dict[int, LabDNSServer]]:
    """One lab server per scenario, started on first use, all stopped after the module."""
    servers: dict[int, LabDNSServer] = {}
    yield servers
    for server in servers.values():
        server.stop()


def _server_for(servers: dict[int, LabDNSServer], scenario: int) -> LabDNSServer:
    if scenario not in servers:
        servers[scenario] = LabDNSServer(world_for(SCENARIOS[scenario])).start()
    return servers[scenario]


def _accepted(test: dict[str, Any]) -> list[str]:
    expected = test["result"]
    return [expected] if isinstance(expected, str) else list(expected)


@pytest.mark.parametrize("case", _cases())
def test_rfc7208_suite(
    case: SuiteCase | None, shared_dir: Path, suite_servers: dict[int, LabDNSServer]
) -> None:
    if case is None:
        pytest.skip(f"{SUITE} is not present")
    server = _server_for(suite_servers, case.scenario)
    resolver = Resolver(nameservers=[(server.host, server.port)], timeout=TIMEOUT)
    test = case.test
    ip = parse_ip(str(test["host"]))
    result = asyncio.run(spf.evaluate(resolver, ip, test["mailfrom"], test["helo"]))
    trace = "\n".join(result.lines())
    assert result.result in _accepted(test), f"{result.result} not in {test['result']}:\n{trace}"
    expected = test.get("explanation")
    if expected is not None and result.result == "fail":
        if expected == "DEFAULT":
            expected = spf.default_explanation(ip, result.domain)
        assert result.explanation == expected, trace
