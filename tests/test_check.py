"""The four sending preconditions, checked over real DNS against a local test world."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

import reputation
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.report import Report, Status
from tests.worlds import PRECONDITIONS


@pytest.fixture(scope="module")
def world_server() -> Iterator[LabDNSServer]:
    with LabDNSServer(LabWorld.from_text(PRECONDITIONS)) as server:
        yield server


def run(server: LabDNSServer, domain: str, ip: str, helo: str | None = None) -> Report:
    return reputation.check(domain, ip, helo, nameservers=[server.address], timeout=2, rdap=False)


def codes(report: Report, check_id: str) -> set[str]:
    result = report.check(check_id)
    assert result is not None
    return {f.code for f in result.findings}


def status(report: Report, check_id: str) -> Status:
    result = report.check(check_id)
    assert result is not None
    return result.status


def test_clean_sender_passes_every_check(world_server: LabDNSServer) -> None:
    report = run(world_server, "clean.net", "81.2.69.142", "mail.clean.net")
    assert [(c.id, c.status) for c in report.checks] == [
        ("legit_domain", Status.PASS),
        ("static_ip", Status.PASS),
        ("helo_ptr", Status.PASS),
        ("mx", Status.PASS),
        ("spf", Status.PASS),
        ("dmarc", Status.PASS),
        ("dkim", Status.PASS),
    ]
    assert str(report.verdict) == "pass"
    assert report.exit_code == 0


def test_without_helo_the_ptr_name_is_assumed_and_said(world_server: LabDNSServer) -> None:
    report = run(world_server, "clean.net", "81.2.69.142")
    assert report.target.helo == "mail.clean.net"
    assert report.target.helo_assumed is True
    assumed = [f for f in report.check("helo_ptr").findings if f.code == "helo_assumed"]
    assert assumed and "mail.clean.net" in assumed[0].message


def test_missing_ptr_fails_helo_ptr(world_server: LabDNSServer) -> None:
    report = run(world_server, "clean.net", "81.2.69.143", "mail.clean.net")
    assert status(report, "helo_ptr") is Status.FAIL
    assert "ptr_missing" in codes(report, "helo_ptr")
    assert "PTR" in report.check("helo_ptr").remedy
    assert report.exit_code == 2


def test_ptr_that_does_not_resolve_back_fails(world_server: LabDNSServer) -> None:
    report = run(world_server, "clean.net", "81.2.69.144", "mail.unconfirmed.net")
    assert status(report, "helo_ptr") is Status.FAIL
    assert "ptr_not_confirmed" in codes(report, "helo_ptr")
    finding = next(f for f in report.check("helo_ptr").findings if f.code == "ptr_not_confirmed")
    assert "81.2.69.200" in finding.message


@pytest.mark.parametrize(
    ("helo", "code"),
    [
        ("localhost.localdomain", "helo_invalid"),
        ("localhost", "helo_invalid"),
        ("81.2.69.142", "helo_invalid"),
        ("[81.2.69.1]", "helo_invalid"),
        ("mailhost", "helo_invalid"),
        ("nowhere.clean.net", "helo_unresolvable"),
        ("elsewhere.clean.net", "helo_wrong_address"),
    ],
)
def test_bad_helo_fails(world_server: LabDNSServer, helo: str, code: str) -> None:
    report = run(world_server, "clean.net", "81.2.69.142", helo)
    assert status(report, "helo_ptr") is Status.FAIL
    assert code in codes(report, "helo_ptr")


def test_helo_literal_of_this_ip_is_only_a_warning(world_server: LabDNSServer) -> None:
    report = run(world_server, "clean.net", "81.2.69.142", "[81.2.69.142]")
    assert status(report, "helo_ptr") is Status.WARN


def test_helo_resolving_to_ip_but_not_the_ptr_name_warns(world_server: LabDNSServer) -> None:
    report = run(world_server, "clean.net", "81.2.69.142", "other.clean.net")
    assert status(report, "helo_ptr") is Status.WARN
    assert "helo_ptr_mismatch" in codes(report, "helo_ptr")
    assert str(report.verdict) == "warn" and report.exit_code == 1


def test_several_ptrs_warn(world_server: LabDNSServer) -> None:
    report = run(world_server, "clean.net", "81.2.69.145", "a.multi.net")
    assert status(report, "helo_ptr") is Status.WARN
    assert "ptr_multiple" in codes(report, "helo_ptr")


def test_dynamic_looking_ptr_fails_static_ip(world_server: LabDNSServer) -> None:
    report = run(world_server, "clean.net", "81.2.69.146")
    assert status(report, "static_ip") is Status.FAIL
    assert "ptr_dynamic" in codes(report, "static_ip")


def test_generic_ptr_warns_static_ip(world_server: LabDNSServer) -> None:
    report = run(world_server, "clean.net", "81.2.69.147")
    assert status(report, "static_ip") is Status.WARN
    assert "ptr_generic" in codes(report, "static_ip")


@pytest.mark.parametrize(
    "ip", ["10.1.2.3", "192.168.0.10", "127.0.0.1", "100.64.1.1", "192.0.2.1", "169.254.1.1",
           "224.0.0.5", "fe80::1", "fc00::1", "2001:db8::1", "::1"],
)  # fmt: skip
def test_address_that_is_not_globally_routable_fails(world_server: LabDNSServer, ip: str) -> None:
    report = run(world_server, "clean.net", ip, "mail.clean.net")
    assert status(report, "static_ip") is Status.FAIL
    assert "ip_not_global" in codes(report, "static_ip")


def test_ipv6_sender_with_nibble_ptr_passes(world_server: LabDNSServer) -> None:
    report = run(world_server, "v6.net", "2a01:4f8:c0c:1234::2", "mail.v6.net")
    assert [c.status for c in report.checks] == [Status.PASS] * 7
    assert report.target.ip == "2a01:4f8:c0c:1234::2"


def test_rfc2317_cname_ptr_is_followed(world_server: LabDNSServer) -> None:
    report = run(world_server, "classless.net", "81.2.69.170", "mail.classless.net")
    assert status(report, "helo_ptr") is Status.PASS
    evidence = " ".join(e for f in report.check("helo_ptr").findings for e in f.evidence)
    assert "170.128/26.69.2.81.in-addr.arpa" in evidence


def test_domain_with_neither_mx_nor_address_fails_mx(world_server: LabDNSServer) -> None:
    report = run(world_server, "nomx.net", "81.2.69.142", "mail.clean.net")
    assert status(report, "mx") is Status.FAIL
    assert "mx_none" in codes(report, "mx")
    assert "505" in report.check("mx").remedy


def test_null_mx_fails(world_server: LabDNSServer) -> None:
    report = run(world_server, "nullmx.net", "81.2.69.142", "mail.clean.net")
    assert status(report, "mx") is Status.FAIL
    assert "mx_null" in codes(report, "mx")


@pytest.mark.parametrize(
    ("domain", "code"),
    [
        ("implicit.net", "mx_implicit"),
        ("cname-mx.net", "mx_cname"),
        ("half-mx.net", "mx_unresolvable"),
    ],
)
def test_mx_oddities_warn(world_server: LabDNSServer, domain: str, code: str) -> None:
    report = run(world_server, domain, "81.2.69.142", "mail.clean.net")
    assert status(report, "mx") is Status.WARN
    assert code in codes(report, "mx")


@pytest.mark.parametrize("domain", ["dead-mx.net", "private-mx.net"])
def test_mx_without_any_usable_host_fails(world_server: LabDNSServer, domain: str) -> None:
    report = run(world_server, domain, "81.2.69.142", "mail.clean.net")
    assert status(report, "mx") is Status.FAIL


def test_nxdomain_domain_fails_legit_domain_and_mx(world_server: LabDNSServer) -> None:
    report = run(world_server, "never-registered.net", "81.2.69.142", "mail.clean.net")
    assert status(report, "legit_domain") is Status.FAIL
    assert "domain_nxdomain" in codes(report, "legit_domain")
    assert status(report, "mx") is Status.FAIL


def test_missing_subdomain_of_a_real_domain_fails(world_server: LabDNSServer) -> None:
    report = run(world_server, "nope.clean.net", "81.2.69.142", "mail.clean.net")
    assert "domain_nxdomain" in codes(report, "legit_domain")
    assert status(report, "legit_domain") is Status.FAIL


def test_domain_without_ns_is_not_delegated(world_server: LabDNSServer) -> None:
    report = run(world_server, "undelegated.net", "81.2.69.142", "mail.clean.net")
    assert "domain_not_delegated" in codes(report, "legit_domain")


@pytest.mark.parametrize("domain", ["shop.example", "mail.test", "example.com", "printer.local"])
def test_reserved_names_fail_without_asking_dns(world_server: LabDNSServer, domain: str) -> None:
    report = run(world_server, domain, "81.2.69.142", "mail.clean.net")
    assert "domain_reserved" in codes(report, "legit_domain")
    assert world_server.queried(domain) == []
    assert status(report, "mx") is Status.SKIP


def test_public_suffix_fails(world_server: LabDNSServer) -> None:
    report = run(world_server, "co.uk", "81.2.69.142", "mail.clean.net")
    assert "domain_public_suffix" in codes(report, "legit_domain")


def test_idn_domain_keeps_both_forms(world_server: LabDNSServer) -> None:
    report = run(world_server, "Bücher.net", "81.2.69.142", "mail.clean.net")
    assert report.target.domain == "bücher.net"
    assert report.target.domain_ascii == "xn--bcher-kva.net"
    data = report.to_dict()["target"]
    assert data["domain_ascii"] == "xn--bcher-kva.net"


def test_bad_input_raises_a_named_error() -> None:
    with pytest.raises(reputation.BadInput, match=r"999\.1\.1\.1"):
        reputation.check("clean.net", "999.1.1.1", nameservers=["127.0.0.1:1"], rdap=False)
    with pytest.raises(reputation.BadInput, match="bad_domain"):
        reputation.check("bad_domain..com", "81.2.69.142", nameservers=["127.0.0.1:1"], rdap=False)


def test_a_stray_second_ptr_only_warns_and_does_not_count_as_missing_fcrdns(
    world_server: LabDNSServer,
) -> None:
    report = run(world_server, "clean.net", "81.2.69.10", "mail.two-ptr.net")
    assert status(report, "helo_ptr") is Status.WARN
    assert "ptr_not_confirmed" not in codes(report, "helo_ptr")
    gmail = next(p for p in report.providers if p.id == "gmail")
    assert not [r for r in gmail.reasons if r.rule.startswith("no-fcrdns")]


def test_idn_helo_is_compared_in_ascii_with_the_ptr(world_server: LabDNSServer) -> None:
    report = run(world_server, "bücher.net", "81.2.69.81", "mail.bücher.net")
    assert status(report, "helo_ptr") is Status.PASS


def test_ipv4_mapped_address_is_checked_as_the_ipv4_it_sends_from(
    world_server: LabDNSServer,
) -> None:
    report = run(world_server, "clean.net", "::ffff:81.2.69.142", "mail.clean.net")
    assert report.target.ip == "81.2.69.142"
    assert status(report, "static_ip") is Status.PASS


def test_ipv6_helo_literal_needs_its_tag(world_server: LabDNSServer) -> None:
    untagged = run(world_server, "v6.net", "2a01:4f8:c0c:1234::2", "[2a01:4f8:c0c:1234::2]")
    tagged = run(world_server, "v6.net", "2a01:4f8:c0c:1234::2", "[IPv6:2a01:4f8:c0c:1234::2]")
    assert "helo_invalid" in codes(untagged, "helo_ptr")
    assert "helo_literal" in codes(tagged, "helo_ptr")


def test_mx_naming_only_an_ip_address_fails(world_server: LabDNSServer) -> None:
    report = run(world_server, "literal-mx.net", "81.2.69.142", "mail.clean.net")
    assert status(report, "mx") is Status.FAIL
    assert "mx_ip_literal" in codes(report, "mx")


def test_null_mx_mixed_with_real_mx_is_a_misconfiguration_not_a_null_mx(
    world_server: LabDNSServer,
) -> None:
    report = run(world_server, "mixed-null.net", "81.2.69.142", "mail.clean.net")
    assert status(report, "mx") is Status.WARN
    assert "mx_null_mixed" in codes(report, "mx") and "mx_null" not in codes(report, "mx")


def test_subdomain_whose_existence_cannot_be_checked_is_not_called_registered(lab_dns) -> None:
    from reputation.dns.lab import LabWorld

    server = lab_dns(LabWorld.from_text(PRECONDITIONS).servfail("news.clean.net"))
    report = run(server, "news.clean.net", "81.2.69.142", "mail.clean.net")
    assert status(report, "legit_domain") is Status.ERROR
    assert str(report.verdict) in ("incomplete", "fail")


def test_private_address_is_not_looked_up_on_blocklists_nor_advised_on(
    world_server: LabDNSServer,
) -> None:
    report = run(world_server, "clean.net", "10.1.2.3", "mail.clean.net")
    assert [b for b in report.blocklists if b.subject == "ip"] == []
    assert report.remedies[0].startswith("static_ip:")
    assert not any(step.startswith(("helo_ptr:", "spf:")) for step in report.remedies)
    assert {p.verdict for p in report.providers} == {"unknown"}


@pytest.mark.parametrize(
    ("name", "spelt"),
    [
        ("81-2-69-1.dyn.example.net", True),
        ("host1.69.2.81.example.net", True),  # reversed
        ("ip081002069001.example.net", True),  # zero-padded
        ("c0a80101-static.example.net", False),  # another address in hex
        ("51024501.example.net", True),  # 81.2.69.1 in hex
        ("181-2-69-1.example.net", False),  # 181 is not 81
        ("81-2-69-10.example.net", False),
        ("mail.example.net", False),
    ],
)
def test_a_ptr_name_spelling_the_address_is_recognised(name: str, spelt: bool) -> None:
    from reputation.checks.static_ip import embeds_address

    assert embeds_address(name, ipaddress.ip_address("81.2.69.1")) is spelt
