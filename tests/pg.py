"""A real PostgreSQL server for the tests, started in a temporary directory with
pytest-postgresql's executor and the machine's own PostgreSQL binaries (Debian: the
postgresql package). Tests that need it skip only where no server can start.

PostgreSQL refuses to run as root (CI runs as root): then pg_ctl runs as the `postgres`
system user through runuser, in a directory that user owns.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

DBNAME = "reputation_test"


def find_pg_ctl() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return found
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3])
    )
    return str(versions[-1]) if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _executable(pg_ctl: str, base: Path) -> str | None:
    if os.geteuid() != 0:
        return pg_ctl
    runuser = shutil.which("runuser")
    try:
        shutil.chown(base, "postgres", "postgres")
    except (LookupError, PermissionError):
        return None
    if runuser is None:
        return None
    wrapper = base / "pg_ctl-as-postgres"
    wrapper.write_text(f'#!/bin/sh\nexec {runuser} -u postgres -- {pg_ctl} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """postgresql://postgres@127.0.0.1:PORT/reputation_test on a server of its own."""
    from pytest_postgresql.executors.proc import PostgreSQLExecutor

    pg_ctl = find_pg_ctl()
    if pg_ctl is None:
        pytest.skip("no PostgreSQL server binaries (pg_ctl) on this machine")
    base = Path(tempfile.mkdtemp(prefix="reputation-pg-"))
    base.chmod(0o755)
    executable = _executable(pg_ctl, base)
    if executable is None:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip("running as root without a postgres user to run PostgreSQL as")
    port = _free_port()
    executor = PostgreSQLExecutor(
        executable=executable,
        host="127.0.0.1",
        port=port,
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "server.log"),
        startparams="-w",
        dbname=DBNAME,
        user="postgres",
        timeout=60,
    )
    try:
        executor.start()
    except Exception as exc:  # no server could start here: say why, and skip
        log = base / "server.log"
        detail = log.read_text()[-300:] if log.exists() else str(exc)
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not start: {detail}")
    try:
        with _connect_when_ready(port) as conn:
            conn.execute(f"CREATE DATABASE {DBNAME}")
        yield f"postgresql://postgres@127.0.0.1:{port}/{DBNAME}"
    finally:
        executor.stop()
        shutil.rmtree(base, ignore_errors=True)


def _connect_when_ready(port: int, wait: float = 60.0) -> psycopg.Connection:
    """The port opens before the server accepts sessions ("the database system is starting up")."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return psycopg.connect(
                host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True
            )
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def postgresql_db(postgresql_url: str) -> Iterator[str]:
    """An empty database for one test (dropped afterwards)."""
    name = f"t{os.getpid()}_{next(_counter)}"
    admin = postgresql_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgresql_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


_counter = itertools.count(1)
