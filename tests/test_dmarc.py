"""The dmarc check over real DNS against the lab server, and the DMARC record parser."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import dns.name
import dns.rdatatype
import pytest

from reputation.checks import dmarc
from reputation.context import Context
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.dns.resolver import Resolver
from reputation.engine import make_options
from reputation.inputs import parse_domain, parse_ip
from reputation.protocols.dmarc import (
    TagListError,
    effective_policy,
    is_dmarc_record,
    parse_record,
    parse_report_uris,
    parse_tag_list,
)
from reputation.report import CheckResult, Finding, Status

IP = "192.0.2.10"
SPF_MODULE = "reputation.checks.spf"

Runner = Callable[..., CheckResult]


def make_context(server: LabDNSServer, domain: str, ip: str = IP) -> Context:
    options = make_options(nameservers=[server.address], timeout=1, rdap=False)
    resolver = Resolver(nameservers=options.nameservers, timeout=options.timeout)
    return Context(parse_domain(domain), parse_ip(ip), None, resolver, options)


@pytest.fixture
def run_dmarc(lab_dns: Callable[[LabWorld | str], LabDNSServer]) -> Runner:
    """Run the check against a zone. Unless with_spf=True (the zone brings its own SPF), the
    domain gets an SPF record authorising the IP, so these tests judge the DMARC record alone."""

    def run(
        world: LabWorld | str, domain: str = "example.com", *, ip: str = IP, with_spf: bool = False
    ) -> CheckResult:
        world = LabWorld.from_text(world) if isinstance(world, str) else world
        if not with_spf:
            authorise(world, domain, ip)
        server = lab_dns(world)
        return asyncio.run(dmarc.run(make_context(server, domain, ip)))

    return run


def authorise(world: LabWorld, domain: str, ip: str) -> None:
    owner = dns.name.from_text(domain)
    if dns.rdatatype.TXT not in world.records.get(owner, {}):
        world.add_txt(domain, f"v=spf1 ip4:{ip} -all")


def codes(result: CheckResult) -> set[str]:
    return {f.code for f in result.findings}


def finding(result: CheckResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert found, f"no {code} finding in {[(f.code, f.message) for f in result.findings]}"
    return found[0]


# --- the check, over DNS -------------------------------------------------------------------


def test_reject_at_the_domain_passes_and_keeps_the_record_in_evidence(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"')
    assert result.status is Status.PASS
    policy = finding(result, "dmarc_policy_reject")
    assert policy.status is Status.PASS
    assert "found at _dmarc.example.com" in policy.evidence
    assert any("v=DMARC1; p=reject; rua=mailto:dmarc@example.com" in e for e in policy.evidence)


def test_quarantine_passes(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; p=quarantine"')
    assert result.status is Status.PASS
    assert finding(result, "dmarc_policy_quarantine").status is Status.PASS


def test_p_none_warns(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; p=none; rua=mailto:d@example.com"')
    assert result.status is Status.WARN
    assert finding(result, "dmarc_policy_none").status is Status.WARN


def test_subdomain_falls_back_to_the_organisational_domain_and_takes_sp(run_dmarc: Runner) -> None:
    zone = (
        '_dmarc.example.com TXT "v=DMARC1; p=reject; sp=quarantine"\nexample.com NS ns.example.com.'
    )
    result = run_dmarc(zone, "mail.shop.example.com")
    policy = finding(result, "dmarc_policy_quarantine")
    assert "found at _dmarc.example.com" in policy.evidence
    assert "sp=" in policy.message
    assert result.status is Status.PASS


def test_subdomain_fallback_without_sp_takes_p(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; p=reject"', "news.example.com")
    assert "dmarc_policy_reject" in codes(result)


def test_subdomain_with_its_own_record_uses_it(run_dmarc: Runner) -> None:
    zone = """
_dmarc.example.com      TXT "v=DMARC1; p=reject"
_dmarc.news.example.com TXT "v=DMARC1; p=none"
"""
    result = run_dmarc(zone, "news.example.com")
    assert codes(result) >= {"dmarc_policy_none"}
    assert "found at _dmarc.news.example.com" in finding(result, "dmarc_policy_none").evidence


def test_missing_record_warns_and_names_both_places_looked(run_dmarc: Runner) -> None:
    result = run_dmarc("example.com NS ns.example.com.", "news.example.com")
    missing = finding(result, "dmarc_missing")
    assert result.status is Status.WARN
    assert "_dmarc.news.example.com" in missing.message and "_dmarc.example.com" in missing.message


def test_non_dmarc_txt_at_the_name_is_ignored(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "some-verification=abc123"')
    assert codes(result) == {"dmarc_missing"}


def test_syntax_error_in_a_tag_fails(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; p=reject; pct=150"')
    assert result.status is Status.FAIL
    invalid = finding(result, "dmarc_invalid")
    assert invalid.status is Status.FAIL and "pct=150" in invalid.message


def test_broken_tag_list_fails(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; p=reject; rua"')
    assert result.status is Status.FAIL
    assert "not tag=value" in finding(result, "dmarc_invalid").message


def test_missing_p_fails_and_explains_the_p_none_fallback(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; rua=mailto:d@example.com"')
    assert result.status is Status.FAIL
    invalid = finding(result, "dmarc_invalid")
    assert "no p= tag" in invalid.message and "p=none" in invalid.message
    # RFC 7489 §6.6.3: with a valid rua, receivers act as if p=none was published.
    assert finding(result, "dmarc_policy_none").status is Status.WARN


def test_invalid_p_without_rua_leaves_no_policy(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; p=rejected"')
    assert result.status is Status.FAIL
    assert not any(code.startswith("dmarc_policy_") for code in codes(result))


def test_two_records_at_one_name_fail(run_dmarc: Runner) -> None:
    zone = """
_dmarc.example.com TXT "v=DMARC1; p=reject"
_dmarc.example.com TXT "v=DMARC1; p=none"
"""
    result = run_dmarc(zone)
    multiple = finding(result, "dmarc_multiple")
    assert result.status is Status.FAIL and multiple.status is Status.FAIL
    assert not any(code.startswith("dmarc_policy_") for code in codes(result))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("v=DMARC1 p=reject", "not followed by ';'"),
        ("v=dmarc1; p=reject", "'dmarc1'"),
        ("V=DMARC1; p=reject", "'V'"),
    ],
)
def test_record_not_starting_with_exactly_v_dmarc1_is_discarded(
    run_dmarc: Runner, text: str, why: str
) -> None:
    result = run_dmarc(f'_dmarc.example.com TXT "{text}"')
    invalid = finding(result, "dmarc_invalid")
    assert result.status is Status.FAIL
    assert "discard" in invalid.message and why in invalid.message


def test_servfail_is_an_error(run_dmarc: Runner) -> None:
    world = LabWorld.from_text('_dmarc.example.com TXT "v=DMARC1; p=reject"').servfail(
        "_dmarc.example.com"
    )
    result = run_dmarc(world)
    assert result.status is Status.ERROR
    assert codes(result) == {"dmarc_unverified"}


def test_servfail_at_the_organisational_domain_is_an_error(run_dmarc: Runner) -> None:
    world = LabWorld.from_text("example.com NS ns.example.com.").servfail("_dmarc.example.com")
    result = run_dmarc(world, "news.example.com")
    assert result.status is Status.ERROR
    assert "dmarc_missing" not in codes(result)


def test_pct_under_100_warns_that_only_part_is_covered(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; p=reject; pct=25"')
    assert result.status is Status.WARN
    partial = finding(result, "dmarc_pct_partial")
    assert "25%" in partial.message and "quarantine" in partial.message
    assert finding(result, "dmarc_policy_reject").status is Status.PASS


def test_pct_with_p_none_says_nothing_more(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; p=none; pct=10"')
    assert "dmarc_pct_partial" not in codes(result)


def test_testing_mode_warns(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; p=reject; t=y"')
    assert finding(result, "dmarc_testing").status is Status.WARN


def test_unknown_tag_warns_and_hints_at_case(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; p=reject; ASPF=s; foo=bar"')
    assert result.status is Status.WARN
    unknown = [f for f in result.findings if f.code == "dmarc_unknown_tag"]
    assert len(unknown) == 2
    assert any("did you mean aspf" in f.message for f in unknown)


def test_p_not_right_after_v_warns(run_dmarc: Runner) -> None:
    result = run_dmarc('_dmarc.example.com TXT "v=DMARC1; rua=mailto:d@example.com; p=reject"')
    assert finding(result, "dmarc_tag_order").status is Status.WARN
    assert "dmarc_policy_reject" in codes(result)


def test_external_report_destination_without_authorisation_warns(run_dmarc: Runner) -> None:
    rua = "mailto:d@example.com,mailto:r@reports.example.net"
    zone = f'_dmarc.example.com TXT "v=DMARC1; p=reject; rua={rua}"'
    result = run_dmarc(zone)
    unauthorised = finding(result, "dmarc_report_unauthorized")
    assert unauthorised.status is Status.WARN and "reports.example.net" in unauthorised.message
    assert "example.com._report._dmarc.reports.example.net" in unauthorised.message
    assert result.status is Status.WARN


def test_external_report_destination_with_authorisation_passes(run_dmarc: Runner) -> None:
    world = LabWorld().add_txt(
        "_dmarc.example.com",
        "v=DMARC1; p=reject; rua=mailto:r@reports.example.net; ",
        "ruf=mailto:f@reports.example.net",
    )
    zone = world.load('example.com._report._dmarc.reports.example.net TXT "v=DMARC1"')
    result = run_dmarc(zone)
    assert result.status is Status.PASS
    assert [f.code for f in result.findings].count("dmarc_report_authorized") == 1


def test_report_authorisation_uses_the_domain_where_the_policy_was_found(run_dmarc: Runner) -> None:
    zone = """
_dmarc.example.com TXT "v=DMARC1; p=reject; rua=mailto:r@reports.example.net"
example.com._report._dmarc.reports.example.net TXT "v=DMARC1"
example.com NS ns.example.com.
"""
    result = run_dmarc(zone, "news.example.com")
    assert "dmarc_report_authorized" in codes(result)


def test_report_destination_in_the_same_organisation_is_not_looked_up(
    lab_dns: Callable[[LabWorld | str], LabDNSServer],
) -> None:
    world = LabWorld.from_text(
        '_dmarc.example.com TXT "v=DMARC1; p=reject; rua=mailto:d@reports.example.com"'
    )
    authorise(world, "example.com", IP)
    server = lab_dns(world)
    result = asyncio.run(dmarc.run(make_context(server, "example.com")))
    assert result.status is Status.PASS
    assert not [q for q in server.log if "_report._dmarc" in q[0]]


def test_report_authorisation_servfail_is_an_error(run_dmarc: Runner) -> None:
    world = LabWorld.from_text(
        '_dmarc.example.com TXT "v=DMARC1; p=reject; rua=mailto:r@reports.example.net"'
    )
    world.servfail("example.com._report._dmarc.reports.example.net")
    result = run_dmarc(world)
    assert finding(result, "dmarc_report_unverified").status is Status.ERROR


# --- SPF alignment ---------------------------------------------------------------------------


def test_alignment_when_spf_passes() -> None:
    record = parse_record("v=DMARC1; p=reject; aspf=s")
    found = dmarc.alignment_finding("example.com", IP, "pass", record, "reject")
    assert (found.status, found.code) == (Status.PASS, "dmarc_spf_aligned")
    assert "SPF passes and aligns (aspf=s)" in found.message


@pytest.mark.parametrize(
    ("policy", "status"),
    [("reject", Status.WARN), ("quarantine", Status.WARN), ("none", Status.SKIP)],
)
def test_alignment_when_spf_does_not_pass(policy: str, status: Status) -> None:
    record = parse_record(f"v=DMARC1; p={policy}")
    found = dmarc.alignment_finding("example.com", IP, "softfail", record, policy)
    assert (found.status, found.code) == (status, "dmarc_spf_unaligned")
    assert "DMARC can pass only through an aligned DKIM signature" in found.message


def test_alignment_unknown_on_temperror() -> None:
    found = dmarc.alignment_finding(
        "example.com", IP, "temperror", parse_record("v=DMARC1; p=reject"), "reject"
    )
    assert found.status is Status.SKIP and found.code == "dmarc_spf_unknown"


SPF_ZONE = """
example.com TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc.example.com TXT "v=DMARC1; p=reject; aspf=r"
"""


def test_spf_pass_is_reported_as_aligned(run_dmarc: Runner) -> None:
    result = run_dmarc(SPF_ZONE, with_spf=True)
    aligned = finding(result, "dmarc_spf_aligned")
    assert aligned.status is Status.PASS and "aspf=r" in aligned.message


def test_spf_fail_with_reject_warns(run_dmarc: Runner) -> None:
    result = run_dmarc(SPF_ZONE, ip="192.0.2.99", with_spf=True)
    assert finding(result, "dmarc_spf_unaligned").status is Status.WARN
    assert result.status is Status.WARN


# --- the record parser -----------------------------------------------------------------------


def test_tag_list_rejects_duplicates() -> None:
    with pytest.raises(TagListError, match="twice"):
        parse_tag_list("v=DMARC1; p=none; p=reject")


def test_tag_list_allows_a_trailing_semicolon_and_spaces() -> None:
    assert parse_tag_list(" v = DMARC1 ;p=none; ") == [("v", "DMARC1"), ("p", "none")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=DMARC1; p=none", True),
        ("v=DMARC1", True),
        ("v = DMARC1;p=none", True),
        ("v=DMARC10; p=none", False),
        (" v=DMARC1", False),
        ("p=none; v=DMARC1", False),
    ],
)
def test_is_dmarc_record(text: str, expected: bool) -> None:
    assert is_dmarc_record(text) is expected


@pytest.mark.parametrize(
    "record",
    [
        "v=DMARC1; p=reject; sp=none; np=quarantine; pct=0; adkim=s; aspf=r; fo=0:1:d:s; "
        "rf=afrf; ri=86400; t=n; psd=u",
        "v=DMARC1; p=Reject; fo=1 : d",
        "v=DMARC1; p=none; rua=mailto:a@example.com!10m, mailto:b@example.net",
    ],
)
def test_valid_records(record: str) -> None:
    assert parse_record(record).problems == ()


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ("v=DMARC1; p=reject; sp=all", "sp=all"),
        ("v=DMARC1; p=reject; np=block", "np=block"),
        ("v=DMARC1; p=reject; pct=-1", "pct=-1"),
        ("v=DMARC1; p=reject; pct=50.5", "pct=50.5"),
        ("v=DMARC1; p=reject; adkim=x", "adkim=x"),
        ("v=DMARC1; p=reject; aspf=relaxed", "aspf=relaxed"),
        ("v=DMARC1; p=reject; fo=2", "fo=2"),
        ("v=DMARC1; p=reject; rf=iodef", "rf=iodef"),
        ("v=DMARC1; p=reject; ri=soon", "ri=soon"),
        ("v=DMARC1; p=reject; rua=dmarc@example.com", "mailto: prefix"),
        ("v=DMARC1; p=reject; rua=mailto:nobody", "not a mail address"),
        ("v=DMARC1; p=reject; rua=mailto:a@example.com!10x", "size limit"),
        ("v=DMARC1; p=reject; ruf=", "empty"),
        ("v=DMARC1; p=reject; t=maybe", "t=maybe"),
    ],
)
def test_invalid_tag_values(record: str, fragment: str) -> None:
    parsed = parse_record(record)
    assert not parsed.valid
    assert any(fragment in p.message for p in parsed.errors), parsed.errors


def test_report_uris_are_parsed() -> None:
    uris, problems = parse_report_uris(
        "rua", "mailto:dmarc@Reports.Example.net!20m,https://example.org/r"
    )
    assert problems and problems[0].code == "dmarc_report_scheme"
    assert (uris[0].address, uris[0].host, uris[0].size) == (
        "dmarc@Reports.Example.net",
        "reports.example.net",
        "20m",
    )
    assert uris[1].scheme == "https"


def test_an_invalid_sp_makes_the_whole_record_fall_back_to_none_with_rua() -> None:
    record = parse_record("v=DMARC1; p=reject; sp=quarantin; rua=mailto:d@example.com")
    assert effective_policy(record, subdomain=True) == ("none", "sp invalid, rua valid")
    assert effective_policy(record, subdomain=False) == ("none", "sp invalid, rua valid")
