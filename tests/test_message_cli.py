"""`reputation message` as a user meets it: the output, the JSON contract, exit codes, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reputation.dns.lab import LabDNSServer, LabWorld
from tests.message_fixtures import BOUNDARY_IP, build, rsa_key, sign, world

ROOT = Path(__file__).resolve().parents[1]
EX_USAGE, EX_DATAERR = 64, 65


def message_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "reputation", "message", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
    )


@pytest.fixture(scope="module")
def server() -> LabDNSServer:
    with LabDNSServer(LabWorld.from_text(world(rsa_key()))) as s:
        yield s


def lab_args(server: LabDNSServer) -> list[str]:
    return ["--nameserver", server.address, "--no-rdap", "--timeout", "2"]


def test_json_is_the_report_with_a_message_object(server: LabDNSServer, tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(sign(build(), "brand.net", "s1", rsa_key()))
    done = message_cli(str(path), *lab_args(server), "--format", "json")
    report = json.loads(done.stdout)
    assert report["schema"] == "reputation/report/v1"
    assert report["target"]["ip"] == BOUNDARY_IP
    message = report["message"]
    assert set(message) >= {
        "from_domain", "mail_from", "ip", "helo", "received_by", "dkim", "spf", "dmarc",
        "authentication_results", "disagreements", "headers",
    }  # fmt: skip
    assert message["dmarc"]["result"] == "pass"
    assert message["dmarc"]["dkim_aligned"] is True
    assert {"id", "status", "message", "source"} <= set(message["headers"][0])
    # The selector the signature names is probed by the full check, so DKIM is no guess.
    dkim_check = next(c for c in report["checks"] if c["id"] == "dkim")
    assert "s1" in json.dumps(dkim_check)


def test_table_shows_the_message_then_the_check(server: LabDNSServer) -> None:
    signed = sign(build(), "brand.net", "s1", rsa_key())
    done = message_cli("-", *lab_args(server), "--bulk", stdin=signed)
    text = done.stdout.decode()
    assert "DKIM d=brand.net s=s1" in text
    assert "one_click_unsubscribe" in text and "https://senders.yahooinc.com" in text
    assert "Verdict:" in text
    assert done.returncode == 2  # bulk mail without one-click unsubscribe


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"just some text\nthat is not a message\n", "not a message"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a message"),
    ],
)
def test_what_is_not_a_message_is_unreadable(data: bytes, words: str) -> None:
    done = message_cli("-", "--nameserver", "127.0.0.1:9", "--no-rdap", stdin=data)
    assert done.returncode == EX_DATAERR
    assert words in done.stderr.decode()
    assert b"Traceback" not in done.stderr
    assert len(done.stderr.decode().strip().splitlines()) == 1


def test_no_received_from_outside_is_unreadable_and_says_what_to_do() -> None:
    raw = build(received=["from app.internal (app.internal [10.0.0.5]) by mx.brand.net"])
    done = message_cli("-", "--nameserver", "127.0.0.1:9", "--no-rdap", stdin=raw)
    assert done.returncode == EX_DATAERR
    assert "--ip" in done.stderr.decode()


def test_ip_given_replaces_the_received_chain(server: LabDNSServer) -> None:
    raw = sign(build(received=["from app.internal (app.internal [10.0.0.5]) by mx.brand.net"]),
               "brand.net", "s1", rsa_key())  # fmt: skip
    args = ["--ip", BOUNDARY_IP, "--helo", "o1.mail-service.net", "--format", "json"]
    done = message_cli("-", *lab_args(server), *args, stdin=raw)
    assert json.loads(done.stdout)["message"]["spf"]["result"] == "pass"


def test_a_30_mb_message_is_refused_without_reading_it_all() -> None:
    big = build(body="x" * 76 + "\r\n") + (b"y" * 76 + b"\r\n") * (30 * 1024 * 1024 // 78)
    done = message_cli("-", "--nameserver", "127.0.0.1:9", "--no-rdap", stdin=big)
    assert done.returncode == EX_DATAERR
    assert "larger than 25 MB" in done.stderr.decode()


def test_eight_bit_and_broken_mime_are_judged_and_named(server: LabDNSServer) -> None:
    raw = build(
        from_addr="Bücher <news@brand.net>",
        extra=['Content-Type: multipart/mixed; boundary="never-closed"', "MIME-Version: 1.0"],
        body="--never-closed\r\nContent-Type: text/plain\r\n\r\nCaf\xe9\r\n",
    )
    raw = raw.replace("Bücher".encode(), "B\xfccher".encode("latin-1"))  # raw 8-bit, not UTF-8
    done = message_cli("-", *lab_args(server), "--format", "json", stdin=raw)
    assert b"Traceback" not in done.stderr
    headers = {h["id"]: h for h in json.loads(done.stdout)["message"]["headers"]}
    assert headers["mime_structure"]["status"] == "warn"
    assert "8-bit" in headers["mime_structure"]["message"]
    assert "MIME defects" in headers["mime_structure"]["message"]


def test_missing_file_is_bad_usage() -> None:
    done = message_cli("/nonexistent/message.eml", "--no-rdap")
    assert done.returncode == EX_USAGE
    assert "no such file" in done.stderr.decode()


def test_no_return_path_is_unreadable() -> None:
    done = message_cli("-", "--nameserver", "127.0.0.1:9", "--no-rdap", stdin=build(return_path=""))
    assert done.returncode == EX_DATAERR
    assert "Return-Path" in done.stderr.decode()
