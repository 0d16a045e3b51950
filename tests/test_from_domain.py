"""`check DOMAIN IP --from FROM_DOMAIN`: SPF judges the envelope domain, DMARC and DKIM the From
domain, and the report explains how the two align."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from reputation import check
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.report import CheckResult, Finding, Report, Status
from tests.test_cli import reputation_cli
from tests.worlds import ED25519_KEY, WORKING_LISTS

IP = "81.2.69.160"

# An email service's bounce domain (SPF only) sending for a brand (DKIM and DMARC only), like
# GitHub's mail through SendGrid: envelope sgmail.github.com, signed d=github.com.
WORLD = (
    f"""
sgmail-envelope.net            NS    ns1.sgmail-envelope.net.
sgmail-envelope.net            MX    10 mx.sgmail-envelope.net.
mx.sgmail-envelope.net         A     81.2.69.151
sgmail-envelope.net            TXT   "v=spf1 ip4:81.2.69.160/28 -all"
o1.sgmail-envelope.net         A     {IP}
160.69.2.81.in-addr.arpa       PTR   o1.sgmail-envelope.net.
brand.net                      NS    ns1.brand.net.
brand.net                      MX    10 mx.brand.net.
mx.brand.net                   A     81.2.69.150
brand.net                      TXT   "v=spf1 -all"
_dmarc.brand.net               TXT   "v=DMARC1; p=reject; rua=mailto:dmarc@brand.net"
s1._domainkey.brand.net        TXT   "v=DKIM1; k=ed25519; p={ED25519_KEY}"
bounces.brand.net              TXT   "v=spf1 ip4:81.2.69.160/28 -all"
strict.net                     NS    ns1.strict.net.
_dmarc.strict.net              TXT   "v=DMARC1; p=reject; aspf=s"
s1._domainkey.strict.net       TXT   "v=DKIM1; k=ed25519; p={ED25519_KEY}"
bounces.strict.net             TXT   "v=spf1 ip4:81.2.69.160/28 -all"
"""
    + WORKING_LISTS
)


@pytest.fixture(scope="module")
def server() -> Iterator[LabDNSServer]:
    with LabDNSServer(LabWorld.from_text(WORLD)) as s:
        yield s


def checked(server: LabDNSServer, domain: str, from_domain: str | None = None) -> Report:
    return check(
        domain,
        IP,
        "o1.sgmail-envelope.net",
        nameservers=[server.address],
        timeout=2,
        rdap=False,
        bulk=True,
        from_domain=from_domain,
    )


def rules(report: Report) -> set[tuple[str, str]]:
    return {(p.id, r.rule) for p in report.providers for r in p.reasons}


def result(report: Report, check_id: str) -> CheckResult:
    found = report.check(check_id)
    assert found is not None
    return found


def codes(report: Report, check_id: str) -> dict[str, Status]:
    return {f.code: f.status for f in result(report, check_id).findings}


def spf_alignment(report: Report) -> Finding:
    return next(f for f in result(report, "dmarc").findings if f.code.startswith("dmarc_spf"))


def test_without_from_the_envelope_domain_is_blamed_for_the_brands_dmarc(
    server: LabDNSServer,
) -> None:
    report = checked(server, "sgmail-envelope.net")
    assert "dkim_not_found" in codes(report, "dkim")
    assert ("gmail", "bulk-no-dmarc") in rules(report)


def test_from_domain_takes_dmarc_and_dkim_off_the_envelope_domain(server: LabDNSServer) -> None:
    report = checked(server, "sgmail-envelope.net", from_domain="brand.net")
    assert result(report, "dkim").status is Status.PASS
    assert not any(rule.startswith("bulk-no-dmarc") for _, rule in rules(report))
    assert not any(p.verdict == "reject" for p in report.providers)
    assert codes(report, "spf") == {"spf_pass": Status.PASS}
    assert codes(report, "dmarc")["dmarc_policy_reject"] is Status.PASS
    assert report.target.from_domain == "brand.net"
    assert report.to_dict()["target"]["from_domain"] == "brand.net"


def test_alignment_is_explained_for_a_service_envelope(server: LabDNSServer) -> None:
    report = checked(server, "sgmail-envelope.net", from_domain="brand.net")
    finding = spf_alignment(report)
    assert finding.code == "dmarc_spf_unaligned"
    assert finding.status is Status.SKIP  # DMARC rests on DKIM, which is published: not a fault
    assert "sgmail-envelope.net" in finding.message and "relaxed" in finding.message
    assert "d=brand.net" in finding.message


def test_a_bounce_subdomain_aligns_relaxed(server: LabDNSServer) -> None:
    report = checked(server, "bounces.brand.net", from_domain="brand.net")
    finding = spf_alignment(report)
    assert finding.code == "dmarc_spf_aligned"
    assert "relaxed" in finding.message


def test_a_bounce_subdomain_does_not_align_strict(server: LabDNSServer) -> None:
    report = checked(server, "bounces.strict.net", from_domain="strict.net")
    finding = spf_alignment(report)
    assert finding.code == "dmarc_spf_unaligned"
    assert "strict" in finding.message and "aspf=r would align" in finding.message


def test_without_from_the_target_names_the_domain_itself(server: LabDNSServer) -> None:
    report = checked(server, "brand.net")
    assert report.to_dict()["target"]["from_domain"] == "brand.net"
    assert Report.from_dict(report.to_dict()) == report


def test_reserved_from_domain_is_not_asked_about(server: LabDNSServer) -> None:
    report = checked(server, "sgmail-envelope.net", from_domain="brand.example")
    assert codes(report, "dmarc") == {"reserved_name": Status.SKIP}
    assert "brand.example" in result(report, "dkim").summary
    assert codes(report, "spf") == {"spf_pass": Status.PASS}


def test_cli_from_option(server: LabDNSServer) -> None:
    args = ["--nameserver", server.address, "--no-rdap", "--helo", "o1.sgmail-envelope.net"]
    done = reputation_cli(
        "check", "sgmail-envelope.net", IP, "--from", "brand.net", "--bulk", "--format", "json",
        *args,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["target"]["from_domain"] == "brand.net"
    table = reputation_cli("check", "sgmail-envelope.net", IP, "--from", "brand.net", *args)
    assert "From brand.net" in table.stdout.splitlines()[0]


def test_cli_bad_from_is_bad_input(server: LabDNSServer) -> None:
    done = reputation_cli(
        "check", "sgmail-envelope.net", IP, "--from", "not a domain!", "--no-rdap"
    )
    assert done.returncode == 64
    assert "not a domain!" in done.stderr
