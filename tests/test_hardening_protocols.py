"""DMARC and SPF read as receivers read them, whichever way the tool is called."""

from __future__ import annotations

import asyncio

import dns.name
import pytest

import reputation
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.dns.resolver import Resolver
from reputation.inputs import parse_ip
from reputation.protocols import spf
from tests.test_cli import reputation_cli
from tests.worlds import PRECONDITIONS


def _dmarc_world(record: str) -> LabWorld:
    world = LabWorld.from_text(PRECONDITIONS)
    world.load("badsp.net NS ns1.badsp.net.\nbadsp.net MX 10 mail.clean.net.")
    world.add_txt("badsp.net", "v=spf1 ip4:81.2.69.142 -all")
    world.add_txt("_dmarc.badsp.net", record)
    return world


@pytest.mark.parametrize("tag", ["sp=bogus", "np=bogus"])
def test_an_invalid_sp_or_np_makes_the_whole_record_fall_back(lab_dns, tag: str) -> None:
    server = lab_dns(_dmarc_world(f"v=DMARC1; p=reject; {tag}"))
    report = reputation.check(
        "badsp.net", "81.2.69.142", "mail.clean.net", nameservers=[server.address], timeout=2,
        rdap=False,
    )  # fmt: skip
    dmarc = report.check("dmarc")
    assert not dmarc.has("dmarc_policy_reject")  # no receiver applies reject from this record
    assert dmarc.has("dmarc_invalid") and str(dmarc.status) == "fail"


def test_with_rua_the_fallback_is_p_none(lab_dns) -> None:
    server = lab_dns(_dmarc_world("v=DMARC1; p=reject; sp=bogus; rua=mailto:d@badsp.net"))
    report = reputation.check(
        "badsp.net", "81.2.69.142", "mail.clean.net", nameservers=[server.address], timeout=2,
        rdap=False,
    )  # fmt: skip
    assert report.check("dmarc").has("dmarc_policy_none")


SPF_WORLD = """
example.com TXT "v=spf1 exists:%{d2}.allow.example.net -all"
example.com.allow.example.net A 127.0.0.2
mail.example.com TXT "v=spf1 ip4:81.2.69.7 -all"
"""


def _evaluate(server: LabDNSServer, sender: str | None, helo: str | None) -> spf.SpfResult:
    resolver = Resolver(nameservers=[(server.host, server.port)], timeout=2)
    return asyncio.run(spf.evaluate(resolver, parse_ip("81.2.69.7"), sender, helo))


def test_the_library_strips_a_trailing_dot_of_the_sender_domain(lab_dns) -> None:
    server = lab_dns(SPF_WORLD)
    result = _evaluate(server, "user@example.com.", None)
    assert (result.result, result.domain) == ("pass", "example.com")


@pytest.mark.parametrize(
    ("sender", "helo", "expected"),
    [
        ("@example.com", None, ("pass", "mailfrom", "example.com")),
        ("<user@EXAMPLE.com.>", None, ("pass", "mailfrom", "example.com")),
        ("", " mail.example.com. ", ("pass", "helo", "mail.example.com")),
    ],
)
def test_cli_and_library_read_sender_and_helo_alike(
    lab_dns, sender: str, helo: str | None, expected: tuple[str, str, str]
) -> None:
    server = lab_dns(SPF_WORLD)
    library = _evaluate(server, sender, helo)
    assert (str(library.result), library.identity, library.domain) == expected
    args = ["spf", "81.2.69.7", "--sender", sender, "--nameserver", server.address]
    done = reputation_cli(*args, *(["--helo", helo] if helo else []), "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    assert expected[0] in done.stdout and f'"domain": "{expected[2]}"' in done.stdout


def test_thousands_of_unknown_dmarc_tags_make_a_handful_of_findings(lab_dns) -> None:
    tags = "; ".join(f"x{i}=1" for i in range(1500))
    record = f"v=DMARC1; p=reject; {tags}"
    world = _dmarc_world("v=DMARC1; p=none")
    world.records.pop(dns.name.from_text("_dmarc.badsp.net"))
    world.add_txt("_dmarc.badsp.net", *[record[i : i + 255] for i in range(0, len(record), 255)])
    server = lab_dns(world)
    report = reputation.check(
        "badsp.net", "81.2.69.142", "mail.clean.net", nameservers=[server.address], timeout=2,
        rdap=False,
    )  # fmt: skip
    unknown = [f for f in report.check("dmarc").findings if f.code == "dmarc_unknown_tag"]
    assert len(unknown) == 6
    assert (
        "1495 more unknown tags" in unknown[-1].message and "and 1490 more" in unknown[-1].message
    )
    assert report.check("dmarc").has("dmarc_policy_reject")  # the policy itself still reads
