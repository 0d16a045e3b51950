"""Odd input meets one rule per value, on the command line and in the Python API alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import reputation
from reputation import BadInput
from reputation.dns.lab import LabDNSServer, LabWorld
from tests.test_cli import ROOT, reputation_cli
from tests.worlds import PRECONDITIONS


@pytest.fixture(scope="module")
def server():
    with LabDNSServer(LabWorld.from_text(PRECONDITIONS)) as s:
        yield s


def _one_line_64(done: subprocess.CompletedProcess[str], named: str) -> None:
    assert done.returncode == 64, (done.stdout, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1 and named in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("value", ["inf", "1e308", "nan", "61"])
@pytest.mark.parametrize(
    "command",
    [
        ["check", "clean.net", "81.2.69.142", "--no-rdap"],
        ["spf", "81.2.69.142", "--sender", "a@clean.net"],
        ["lists", "--health"],
    ],
)
def test_a_timeout_that_never_ends_is_bad_input(command: list[str], value: str) -> None:
    done = reputation_cli(*command, "--nameserver", "127.0.0.1:9", "--timeout", value)
    _one_line_64(done, "timeout")


def test_a_helo_with_surrounding_space_is_checked_not_an_internal_error(server) -> None:
    report = reputation.check(
        "clean.net", "81.2.69.142", " [81.2.69.142] ", nameservers=[server.address], timeout=2,
        rdap=False,
    )  # fmt: skip
    helo_ptr = report.check("helo_ptr")
    assert helo_ptr.has("helo_literal") and str(helo_ptr.status) == "warn"
    assert report.target.helo == "[81.2.69.142]"


@pytest.mark.parametrize("url", ["https://[::1", "https://", "ftp://rdap.example", "notaurl"])
def test_an_rdap_url_the_client_cannot_use_is_bad_input(url: str) -> None:
    done = reputation_cli("check", "clean.net", "81.2.69.142", "--rdap-url", url)
    _one_line_64(done, "RDAP URL")


@pytest.mark.parametrize(
    ("args", "options"),
    [
        ((123, "81.2.69.142"), {}),
        (("clean.net", 81), {}),
        (("clean.net", "81.2.69.142", 5), {}),
        (("clean.net", "81.2.69.142", ""), {}),
        (("clean.net", "81.2.69.142"), {"timeout": "soon"}),
        (("clean.net", "81.2.69.142"), {"timeout": float("inf")}),
        (("clean.net", "81.2.69.142"), {"timeout": True}),
        (("clean.net", "81.2.69.142"), {"nameservers": "127.0.0.1"}),
        (("clean.net", "81.2.69.142"), {"nameservers": [("127.0.0.1", 99999)]}),
        (("clean.net", "81.2.69.142"), {"nameservers": [("127.0.0.1",)]}),
        (("clean.net", "81.2.69.142"), {"nameservers": [("not an address!", 53)]}),
        (("clean.net", "81.2.69.142"), {"nameservers": [None]}),
        (("clean.net", "81.2.69.142"), {"dkim_selectors": [5]}),
        (("clean.net", "81.2.69.142"), {"dkim_selectors": "s1"}),
        (("clean.net", "81.2.69.142"), {"rdap": "yes"}),
        (("clean.net", "81.2.69.142"), {"rdap_url": 5}),
        (("clean.net", "81.2.69.142"), {"env": 5}),
        (("clean.net", "81.2.69.142"), {"lists": "zen"}),
        (("clean.net", "81.2.69.142"), {"blocklists_file": 5}),
    ],
)
def test_every_wrong_value_in_the_api_is_bad_input(args: tuple, options: dict) -> None:
    with pytest.raises(BadInput):
        reputation.check(*args, **{"nameservers": ["127.0.0.1:9"], "rdap": False, **options})


def test_a_valid_host_port_tuple_is_used(server) -> None:
    report = reputation.check(
        "clean.net", "81.2.69.142", "mail.clean.net", nameservers=[(server.host, server.port)],
        timeout=2, rdap=False,
    )  # fmt: skip
    assert str(report.check("helo_ptr").status) == "pass"


@pytest.mark.parametrize("nesting", ["a = " + "[" * 5000 + "]" * 5000, "a = " + "{b=" * 5000])
def test_a_deeply_nested_catalog_is_bad_input(tmp_path: Path, nesting: str) -> None:
    catalog = tmp_path / "deep.toml"
    catalog.write_text(nesting)
    done = reputation_cli("lists", "--blocklists", str(catalog))
    _one_line_64(done, "nested")


def _strict_stdout(*args: str, encoding: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "PYTHONIOENCODING": encoding}
    return subprocess.run(
        [sys.executable, "-m", "reputation", *args], capture_output=True, env=env, timeout=60
    )


@pytest.mark.parametrize("encoding", ["ascii:strict", "utf-8:strict"])
def test_a_non_utf8_helo_on_a_strict_stdout_is_one_line_not_a_traceback(encoding: str) -> None:
    args = ["check", "clean.net", "81.2.69.142", "--helo", os.fsdecode(b"\xff\xfe.clean.net")]
    done = _strict_stdout(*args, "--nameserver", "127.0.0.1:9", encoding=encoding)
    assert done.returncode == 64
    assert b"Traceback" not in done.stderr and b"HELO" in done.stderr


@pytest.mark.parametrize("encoding", ["ascii:strict", "utf-8:strict"])
def test_non_ascii_dns_text_on_a_strict_stdout_is_escaped(server, encoding: str) -> None:
    args = ["check", "bücher.net", "81.2.69.81", "--nameserver", server.address, "--no-rdap"]
    done = _strict_stdout(*args, "--timeout", "2", encoding=encoding)
    assert b"Traceback" not in done.stderr and done.returncode in (0, 1, 2, 3)
    assert b"xn--bcher-kva.net" in done.stdout
