"""A one-off `reputation check` loads only what checking a sender needs: the libraries of the
other commands (the audit's SQLAlchemy, the message's dkimpy and authres, RDAP's httpx) and
typer's optional pydantic stay out of its start-up time."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reputation.cli import COMMANDS, load_commands
from reputation.cli.app import app
from reputation.dns.lab import LabDNSServer, LabWorld
from tests.worlds import PRECONDITIONS

ROOT = Path(__file__).resolve().parents[1]
# Runs the CLI as `reputation ARGS...` and reports, on its last stderr line, what it imported.
RUN_AND_LIST_MODULES = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv[0] = "reputation"
from reputation.cli import main
main()
"""
NOT_FOR_CHECK = ("sqlalchemy", "pydantic", "httpx", "dkim", "authres", "rich")
OTHER_COMMANDS = (
    "reputation.audit",
    "reputation.bounce",
    "reputation.message",
    "reputation.cli.audit",
    "reputation.cli.bounce",
    "reputation.cli.message",
)


def modules_loaded_by(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return done, set(json.loads(done.stderr.strip().splitlines()[-1]))


def packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.fixture(scope="module")
def server() -> Iterator[LabDNSServer]:
    with LabDNSServer(LabWorld.from_text(PRECONDITIONS)) as s:
        yield s


def test_check_loads_nothing_the_other_commands_need(server: LabDNSServer) -> None:
    done, modules = modules_loaded_by(
        "check", "clean.net", "81.2.69.142", "--helo", "mail.clean.net",
        "--nameserver", server.address, "--no-rdap",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "clean.net" in done.stdout  # the report was rendered
    assert packages(modules).isdisjoint(NOT_FOR_CHECK)
    assert not {m for m in modules if m.startswith(OTHER_COMMANDS)}
    assert "reputation.rdap" not in modules  # --no-rdap


def test_every_command_is_known() -> None:
    load_commands()
    registered = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}
    assert registered == set(COMMANDS)  # one missing from COMMANDS would load every module


def test_help_lists_every_command_in_order() -> None:
    done, _ = modules_loaded_by("--help")
    lines = done.stdout.split("Commands:")[1].splitlines()
    listed = [line.split()[0] for line in lines if re.match(r"  \S", line)]  # not wrapped text
    assert listed == list(COMMANDS)


def test_check_help_loads_no_checks_and_no_other_commands_libraries() -> None:
    done, modules = modules_loaded_by("check", "--help")
    assert done.returncode == 0, done.stderr
    assert "--nameserver" in done.stdout
    assert packages(modules).isdisjoint(NOT_FOR_CHECK)
    assert not {m for m in modules if m.startswith(OTHER_COMMANDS)}
    assert "reputation.engine" not in modules  # nor the checks: nothing is checked


def test_a_usage_error_loads_no_checks() -> None:
    done, modules = modules_loaded_by("check", "example.com")  # the IP is missing
    assert done.returncode == 64
    assert "missing argument 'ip'" in done.stderr.lower()
    assert "reputation.engine" not in modules
