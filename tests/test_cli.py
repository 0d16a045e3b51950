"""The command line as a user meets it: exit codes, one-line errors, the JSON contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reputation.dns.lab import LabDNSServer, LabWorld
from tests.worlds import PRECONDITIONS

ROOT = Path(__file__).resolve().parents[1]


def reputation_cli(
    *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-m", "reputation", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[LabDNSServer]:
    with LabDNSServer(LabWorld.from_text(PRECONDITIONS)) as s:
        yield s


def check_json(server: LabDNSServer, *args: str) -> tuple[int, dict]:
    done = reputation_cli(
        "check", *args, "--nameserver", server.address, "--no-rdap", "--format", "json"
    )
    return done.returncode, json.loads(done.stdout)


def test_clean_sender_json_follows_the_contract(server: LabDNSServer) -> None:
    code, report = check_json(server, "clean.net", "81.2.69.142", "--helo", "mail.clean.net")
    assert code == 0
    assert report["schema"] == "reputation/report/v1"
    assert set(report) >= {
        "schema",
        "target",
        "started_at",
        "duration_ms",
        "verdict",
        "checks",
        "blocklists",
        "providers",
    }
    assert report["target"] == {
        "domain": "clean.net", "domain_ascii": "clean.net", "ip": "81.2.69.142",
        "helo": "mail.clean.net", "helo_assumed": False, "from_domain": "clean.net",
    }  # fmt: skip
    assert [c["id"] for c in report["checks"]] == [
        "legit_domain", "static_ip", "helo_ptr", "mx", "spf", "dmarc", "dkim",
    ]  # fmt: skip
    for check in report["checks"]:
        assert set(check) >= {"id", "status", "summary", "findings", "remedy"}
        for finding in check["findings"]:
            assert set(finding) >= {"status", "message", "evidence"}
    assert report["verdict"] == "pass"


@pytest.mark.parametrize(
    ("args", "exit_code", "verdict"),
    [
        (["clean.net", "81.2.69.143", "--helo", "mail.clean.net"], 2, "fail"),
        (["clean.net", "81.2.69.142", "--helo", "other.clean.net"], 1, "warn"),
        (["nullmx.net", "81.2.69.142", "--helo", "mail.clean.net"], 2, "fail"),
    ],
)
def test_exit_code_follows_the_verdict(
    server: LabDNSServer, args: list[str], exit_code: int, verdict: str
) -> None:
    code, report = check_json(server, *args)
    assert (code, report["verdict"]) == (exit_code, verdict)


def test_check_against_a_server_that_drops_everything_is_incomplete_and_bounded(lab_dns) -> None:
    world = LabWorld.from_text("clean.net MX 10 mail.clean.net.").drop("*.")
    silent = lab_dns(world)
    started = time.monotonic()
    done = reputation_cli(
        "check", "clean.net", "81.2.69.142", "--helo", "mail.clean.net",
        "--nameserver", silent.address, "--timeout", "1", "--no-rdap", "--format", "json",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    report = json.loads(done.stdout)
    assert done.returncode == 3
    assert report["verdict"] == "incomplete"
    assert report["unverified"]
    assert all(c["status"] in ("error", "pass") for c in report["checks"])
    assert elapsed < 3 * 1 + 1.5  # 3 x --timeout, plus interpreter start-up


def test_servfail_on_the_ptr_makes_the_verdict_incomplete(lab_dns) -> None:
    world = LabWorld.from_text(PRECONDITIONS).servfail("142.69.2.81.in-addr.arpa")
    server = lab_dns(world)
    code, report = check_json(server, "clean.net", "81.2.69.142", "--helo", "mail.clean.net")
    assert code == 3
    helo_ptr = next(c for c in report["checks"] if c["id"] == "helo_ptr")
    assert helo_ptr["status"] == "error"
    assert any("SERVFAIL" in e for f in helo_ptr["findings"] for e in f["evidence"])


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["check", "clean.net", "999.1.2.3"], "999.1.2.3"),
        (["check", "clean.net", "not-an-ip"], "not-an-ip"),
        (["check", "bad..domain", "81.2.69.142"], "bad..domain"),
        (["check", "user@clean.net", "81.2.69.142"], "user@clean.net"),
        (["check", "clean.net", "81.2.69.142", "--nameserver", "127.0.0.1:99999"], "99999"),
        (["check", "clean.net", "81.2.69.142", "--bogus-flag"], "--bogus-flag"),
        (["check", "clean.net"], "'ip'"),
        (["check", "clean.net", "81.2.69.142", "--format", "yaml"], "yaml"),
    ],
)
def test_bad_input_exits_64_with_one_line(args: list[str], named: str) -> None:
    done = reputation_cli(*args)
    assert done.returncode == 64
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert named in lines[0]
    assert "Traceback" not in done.stderr


def test_table_output_fits_100_columns_and_has_no_colour_when_piped(server: LabDNSServer) -> None:
    done = reputation_cli(
        "check", "nomx.net", "81.2.69.146", "--helo", "localhost.localdomain",
        "--nameserver", server.address, "--no-rdap",
    )  # fmt: skip
    assert done.returncode == 2
    assert "Verdict: FAIL" in done.stdout
    assert "\x1b[" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 100


def test_markdown_output_has_a_table_and_the_findings(server: LabDNSServer) -> None:
    done = reputation_cli(
        "check", "clean.net", "81.2.69.143", "--helo", "mail.clean.net",
        "--nameserver", server.address, "--no-rdap", "--format", "markdown",
    )  # fmt: skip
    assert "| legit_domain" in done.stdout
    assert "### Findings" in done.stdout
    assert "has no PTR record" in done.stdout


def test_demo_runs_without_network() -> None:
    done = reputation_cli("demo")
    assert done.returncode == 0
    assert "Verdict: PASS" in done.stdout
    assert "Verdict: FAIL" in done.stdout


SPF_WORLD = """
sender.net TXT "v=spf1 a:mail.sender.net include:_spf.provider.net -all"
mail.sender.net A 81.2.69.142
_spf.provider.net TXT "v=spf1 ip4:198.51.100.0/24 ~all"
helo.sender.net TXT "v=spf1 ip4:81.2.69.7 -all"
"""


def test_spf_command_explains_the_decision_path(lab_dns) -> None:
    server = lab_dns(SPF_WORLD)
    done = reputation_cli(
        "spf",
        "81.2.69.99",
        "--sender",
        "bob@sender.net",
        "--nameserver",
        server.address,
        "--format",
        "json",
    )
    result = json.loads(done.stdout)
    assert done.returncode == 2
    assert set(result) >= {"result", "identity", "domain", "explanation", "lookups", "path"}
    assert (result["result"], result["identity"], result["domain"]) == (
        "fail",
        "mailfrom",
        "sender.net",
    )
    assert result["lookups"] == 2
    assert [step["term"] for step in result["path"] if step["result"]] == ["~all", "-all"]


def test_spf_command_checks_the_helo_identity_when_the_sender_is_empty(lab_dns) -> None:
    server = lab_dns(SPF_WORLD)
    done = reputation_cli(
        "spf",
        "81.2.69.7",
        "--sender",
        "",
        "--helo",
        "helo.sender.net",
        "--nameserver",
        server.address,
        "--format",
        "json",
    )
    result = json.loads(done.stdout)
    assert (done.returncode, result["result"], result["identity"], result["domain"]) == (
        0,
        "pass",
        "helo",
        "helo.sender.net",
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["spf", "81.2.69.7", "--sender", "user@"], "user@"),
        (["spf", "81.2.69.7", "--sender", "a@b@c.net"], "a@b@c.net"),
        (["spf", "81.2.69.7"], "--sender"),
        (["spf", "81.2.69.7", "--sender", "<>"], "--sender"),
        (["check", "clean.net..", "81.2.69.142"], "clean.net.."),
        (["check", "clean.net", "81.2.69.142", "--provider", ","], "','"),
        (["check", "clean.net", "81.2.69.142", "--dkim-selector", "a b"], "a b"),
        (["check", "81.2.69.142", "81.2.69.142"], "IP address"),
        (["check", "clean.net", "81.2.69.142", "--rdap-url", "notaurl"], "notaurl"),
    ],
)
def test_more_bad_input_exits_64(args: list[str], named: str) -> None:
    done = reputation_cli(*args)
    assert done.returncode == 64, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and named in done.stderr


def test_spf_null_sender_with_an_address_literal_helo_is_none() -> None:
    done = reputation_cli(
        "spf",
        "81.2.69.7",
        "--sender",
        "<>",
        "--helo",
        "[81.2.69.7]",
        "--nameserver",
        "127.0.0.1:9",
        "--format",
        "json",
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["result"] == "none"


def test_spf_sender_with_an_idn_domain_is_converted(lab_dns) -> None:
    server = lab_dns('xn--strae-oqa.de TXT "v=spf1 ip4:81.2.69.7 -all"')
    done = reputation_cli(
        "spf",
        "81.2.69.7",
        "--sender",
        "user@straße.de",
        "--nameserver",
        server.address,
        "--format",
        "json",
    )
    assert json.loads(done.stdout)["result"] == "pass"


def test_control_characters_from_dns_never_reach_the_terminal(lab_dns) -> None:
    world = LabWorld.from_text(PRECONDITIONS)
    world.add_txt("evil.net", "v=spf1 \x1b]0;pwned\x07 -all")
    world.load("evil.net NS ns1.evil.net.\nevil.net MX 10 mail.clean.net.")
    server = lab_dns(world)
    done = reputation_cli(
        "check",
        "evil.net",
        "81.2.69.142",
        "--helo",
        "mail.clean.net",
        "--nameserver",
        server.address,
        "--no-rdap",
    )
    assert "\x1b]" not in done.stdout and "\x07" not in done.stdout
    assert "\\x1b]0;pwned\\x07" in done.stdout


def test_long_names_still_fit_100_columns(lab_dns) -> None:
    long_label = "a" * 60
    domain = f"{long_label}.{long_label}.{long_label}.net"
    done = reputation_cli(
        "check", domain, "81.2.69.142", "--nameserver", lab_dns(PRECONDITIONS).address, "--no-rdap"
    )
    assert max(len(line) for line in done.stdout.splitlines()) <= 100


def test_demo_json_is_one_document() -> None:
    done = reputation_cli("demo", "--format", "json")
    reports = json.loads(done.stdout)
    assert isinstance(reports, list) and len(reports) >= 4
    assert all(r["schema"] == "reputation/report/v1" for r in reports)
