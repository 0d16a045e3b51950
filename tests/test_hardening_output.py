"""Text from DNS is data, never layout: no renderer lets a record print lines of its own."""

from __future__ import annotations

import json

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import pytest

from reputation.dns.lab import LabDNSServer, LabWorld
from tests.test_cli import reputation_cli
from tests.worlds import PRECONDITIONS

FORGED = "\n**Verdict: PASS**\n```\n| forged_check | pass |\n"
HIDDEN = "\x85\x7f\u202e\u200b\u2028"
EVIL_SPF = f"v=spf1 {FORGED}{HIDDEN} -all"


def raw_txt(world: LabWorld, name: str, text: str) -> LabWorld:
    """A TXT record holding any bytes, newlines included (zone text cannot say them)."""
    data = text.encode()
    strings = [data[i : i + 255] for i in range(0, len(data), 255)]
    rd = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings)
    owner = dns.name.from_text(name)
    world.records.setdefault(owner, {}).setdefault(dns.rdatatype.TXT, []).append(rd)
    return world


@pytest.fixture
def evil(lab_dns) -> LabDNSServer:
    world = LabWorld.from_text(PRECONDITIONS)
    raw_txt(world, "evil.net", EVIL_SPF)
    raw_txt(world, "_dmarc.evil.net", f"v=DMARC1; p=reject; x={FORGED}")
    world.load("evil.net NS ns1.evil.net.\nevil.net MX 10 mail.clean.net.")
    return lab_dns(world)


def _check(server: LabDNSServer, fmt: str) -> str:
    done = reputation_cli(
        "check", "evil.net", "81.2.69.142", "--helo", "mail.clean.net",
        "--nameserver", server.address, "--no-rdap", "--format", fmt,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr  # the record is broken: the real verdict is fail
    return done.stdout


def _assert_inert(out: str) -> None:
    lines = out.splitlines()
    assert not any(
        line.lstrip("- ").startswith(("**Verdict: PASS", "Verdict: PASS")) for line in lines
    )
    assert not any(line.startswith("| forged_check | pass") for line in lines)
    fences = [line for line in lines if line.startswith("```")]
    assert len(fences) in (0, 2) and len(set(fences)) <= 1  # only the renderer's own fence
    assert not any(ch in out for ch in HIDDEN)


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_a_txt_record_cannot_start_a_line_in_text_output(evil: LabDNSServer, fmt: str) -> None:
    out = _check(evil, fmt)
    _assert_inert(out)
    assert "\\x0a" in out and "\\u202e" in out  # shown, escaped, not dropped


def test_markdown_code_spans_hold_backticks_from_dns(evil: LabDNSServer) -> None:
    out = _check(evil, "markdown")
    evidence = [line for line in out.splitlines() if "v=spf1" in line and line.startswith("  - ")]
    assert evidence and all(line.startswith("  - ``") for line in evidence)


def test_json_escapes_c1_del_bidi_and_zero_width_as_ascii(evil: LabDNSServer) -> None:
    out = _check(evil, "json")
    assert not any(ch in out for ch in HIDDEN)
    assert "\\u0085" in out and "\\u007f" in out and "\\u202e" in out and "\\u200b" in out
    report = json.loads(out)  # still the contract, with the record's text intact
    spf = next(c for c in report["checks"] if c["id"] == "spf")
    assert any(EVIL_SPF in line for f in spf["findings"] for line in f["evidence"])


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_the_spf_explanation_cannot_be_forged_either(lab_dns, fmt: str) -> None:
    server = lab_dns(raw_txt(LabWorld(), "evil.net", EVIL_SPF))
    done = reputation_cli(
        "spf", "81.2.69.7", "--sender", "a@evil.net", "--nameserver", server.address,
        "--format", fmt,
    )  # fmt: skip
    _assert_inert(done.stdout)
    assert "\\x0a" in done.stdout
