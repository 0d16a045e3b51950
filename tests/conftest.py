"""Shared fixtures: a local authoritative DNS server on 127.0.0.1 answering from test zone data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reputation.dns.lab import LabDNSServer, LabWorld

pytest_plugins = ["tests.pg"]  # postgresql_url, postgresql_db: a real PostgreSQL server

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def lab_dns() -> Iterator[Callable[[LabWorld | str], LabDNSServer]]:
    """Start a LabDNSServer for a world (LabWorld or zone text); stopped after the test.

    Use: `server = lab_dns(world)`, then query `server.address` ("127.0.0.1:PORT").
    """
    servers: list[LabDNSServer] = []

    def start(world: LabWorld | str) -> LabDNSServer:
        if isinstance(world, str):
            world = LabWorld.from_text(world)
        server = LabDNSServer(world).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the project (reference material and corpora); skips when absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present beside the project")
    return SHARED
