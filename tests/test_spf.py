"""SPF as a sender meets it: evaluated through the lab DNS server, read from the decision path."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from reputation.checks import spf as spf_check
from reputation.context import Context, Options
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.dns.resolver import Resolver
from reputation.inputs import parse_domain, parse_ip
from reputation.protocols import spf
from reputation.protocols.spf import SpfResult
from reputation.report import CheckResult, Status

StartLab = Callable[[LabWorld | str], LabDNSServer]

SENDER = "sender.example.com"


def resolver_for(server: LabDNSServer, timeout: float = 2.0) -> Resolver:
    return Resolver(nameservers=[(server.host, server.port)], timeout=timeout)


def evaluate(
    server: LabDNSServer, ip: str, sender: str | None = f"postmaster@{SENDER}", helo: str = ""
) -> SpfResult:
    return asyncio.run(spf.evaluate(resolver_for(server), parse_ip(ip), sender, helo))


def run_check(server: LabDNSServer, ip: str, timeout: float = 2.0) -> CheckResult:
    ctx = Context(
        domain=parse_domain(SENDER),
        ip=parse_ip(ip),
        helo=f"mail.{SENDER}",
        resolver=resolver_for(server, timeout),
        options=Options(timeout=timeout),
    )
    return asyncio.run(spf_check.run(ctx))


def test_include_that_does_not_list_the_ip_fails_and_the_path_names_it(lab_dns: StartLab) -> None:
    server = lab_dns(
        f"""
        {SENDER} TXT "v=spf1 include:_spf.mailer.example.net -all"
        _spf.mailer.example.net TXT "v=spf1 ip4:192.0.2.0/24 ~all"
        """
    )
    result = evaluate(server, "203.0.113.7")
    assert result.result == "fail"
    lines = [line.strip() for line in result.lines()]
    include = next(i for i, line in enumerate(lines) if line.startswith("include:"))
    assert lines[0] == f'{SENDER}: "v=spf1 include:_spf.mailer.example.net -all"'
    assert lines[include].startswith("include:_spf.mailer.example.net (no match")
    assert "softfail" in lines[include]
    assert lines[-1] == "-all matched → fail"
    assert result.lookups == 1
    check = run_check(server, "203.0.113.7")
    assert check.status is Status.FAIL
    assert check.has("spf_fail")
    assert check.summary == (
        f"SPF fail: 203.0.113.7 is not authorised by {SENDER} (-all), 1 lookup"
    )
    assert "ip4:203.0.113.7" in check.remedy


@pytest.mark.parametrize(("ip", "expected"), [("192.0.2.77", "pass"), ("198.51.100.1", "fail")])
def test_a_mechanism_with_a_prefix_covers_the_network(
    lab_dns: StartLab, ip: str, expected: str
) -> None:
    server = lab_dns(
        f"""
        {SENDER} TXT "v=spf1 a:mail.{SENDER}/24 -all"
        mail.{SENDER} A 192.0.2.10
        """
    )
    result = evaluate(server, ip)
    assert result.result == expected
    assert result.lookups == 1


@pytest.mark.parametrize(
    ("ip", "expected"),
    [("2001:db8:1::25", "pass"), ("2001:db8:2::25", "fail"), ("::ffff:192.0.2.1", "pass")],
)
def test_ipv6_sender_is_matched_by_ip6_only(lab_dns: StartLab, ip: str, expected: str) -> None:
    server = lab_dns(f'{SENDER} TXT "v=spf1 ip4:192.0.2.1 ip6:2001:db8:1::/48 -all"')
    assert evaluate(server, ip).result == expected


def test_ipv6_sender_is_matched_against_aaaa_records(lab_dns: StartLab) -> None:
    server = lab_dns(
        f"""
        {SENDER} TXT "v=spf1 mx -all"
        {SENDER} MX 10 mx.{SENDER}.
        mx.{SENDER} A 192.0.2.25
        mx.{SENDER} AAAA 2001:db8::25
        """
    )
    assert evaluate(server, "2001:db8::25").result == "pass"
    assert evaluate(server, "2001:db8::26").result == "fail"


def test_redirect_hands_the_decision_to_another_domain(lab_dns: StartLab) -> None:
    server = lab_dns(
        f"""
        {SENDER} TXT "v=spf1 ip4:192.0.2.1 redirect=_spf.example.net"
        _spf.example.net TXT "v=spf1 a:%{{d}} -all"
        _spf.example.net A 192.0.2.5
        """
    )
    assert evaluate(server, "192.0.2.5").result == "pass"  # %{d} is now _spf.example.net
    result = evaluate(server, "192.0.2.6")
    assert result.result == "fail"
    assert result.domain == SENDER
    assert result.lookups == 2
    decided = result.decided_by
    assert decided is not None
    assert (decided.domain, decided.term, decided.depth) == ("_spf.example.net", "-all", 1)


@pytest.mark.parametrize(("includes", "expected"), [(10, "fail"), (11, "permerror")])
def test_more_than_ten_lookups_is_a_permerror(
    lab_dns: StartLab, includes: int, expected: str
) -> None:
    world = LabWorld()
    terms = [f"include:i{n}.example.net " for n in range(includes)]
    world.add_txt(SENDER, "v=spf1 ", *terms, "-all")  # one record, several strings
    for n in range(includes):
        world.add_txt(f"i{n}.example.net", "v=spf1 ?all")
    server = lab_dns(world)
    result = evaluate(server, "192.0.2.1")
    assert result.result == expected
    assert result.lookups == includes
    if expected == "permerror":
        check = run_check(server, "192.0.2.1")
        assert check.status is Status.FAIL
        assert check.has("spf_permerror")
        assert "more than 10 DNS-querying terms" in check.summary
        assert "at most 10 DNS-querying terms" in check.remedy


def test_more_than_two_void_lookups_is_a_permerror(lab_dns: StartLab) -> None:
    server = lab_dns(
        f'{SENDER} TXT "v=spf1 a:gone1.example.net a:gone2.example.net mx:gone3.example.net -all"'
    )
    result = evaluate(server, "192.0.2.1")
    assert result.result == "permerror"
    assert result.void_lookups == 3


def test_include_that_times_out_is_a_temperror(lab_dns: StartLab) -> None:
    world = LabWorld.from_text(f'{SENDER} TXT "v=spf1 include:_spf.slow.example.net -all"')
    server = lab_dns(world.drop("_spf.slow.example.net"))
    check = run_check(server, "192.0.2.1", timeout=0.5)
    assert check.status is Status.ERROR
    assert check.has("spf_temperror")
    assert check.summary.startswith(f"SPF temperror: could not evaluate the SPF policy of {SENDER}")
    assert "_spf.slow.example.net" in check.summary


def test_empty_sender_checks_the_helo_identity(lab_dns: StartLab) -> None:
    server = lab_dns(
        """
        mail.example.org TXT "v=spf1 a -all"
        mail.example.org A 192.0.2.40
        """
    )
    for sender in ("", None, "<>"):
        result = evaluate(server, "192.0.2.40", sender=sender, helo="mail.example.org")
        assert (result.result, result.identity, result.domain) == (
            "pass",
            "helo",
            "mail.example.org",
        )
    assert evaluate(server, "192.0.2.41", sender="", helo="mail.example.org").result == "fail"


def test_sender_without_at_sign_is_a_domain(lab_dns: StartLab) -> None:
    server = lab_dns(f'{SENDER} TXT "v=spf1 -all exp=why.{SENDER}"\nwhy.{SENDER} TXT "%{{l}}"')
    result = evaluate(server, "192.0.2.1", sender=SENDER)
    assert (result.result, result.identity, result.explanation) == (
        "fail",
        "mailfrom",
        "postmaster",
    )


@pytest.mark.parametrize(("ip", "expected"), [("192.0.2.10", "pass"), ("192.0.2.11", "fail")])
def test_exists_with_ip_and_domain_macros(lab_dns: StartLab, ip: str, expected: str) -> None:
    server = lab_dns(
        f"""
        {SENDER} TXT "v=spf1 exists:%{{i}}._spf.%{{d}} -all"
        192.0.2.10._spf.{SENDER} A 127.0.0.2
        """
    )
    assert evaluate(server, ip).result == expected
    assert server.queried(f"{ip}._spf.{SENDER}") == [(f"{ip}._spf.{SENDER}.", "A", "udp")]


def test_explanation_of_a_fail_is_expanded(lab_dns: StartLab) -> None:
    server = lab_dns(
        f"""
        {SENDER} TXT "v=spf1 -all exp=explain.{SENDER}"
        explain.{SENDER} TXT "%{{i}} may not send as %{{s}}, see https://%{{d}}/spf"
        """
    )
    result = evaluate(server, "192.0.2.9", sender=f"alice@{SENDER}")
    assert (
        result.explanation == f"192.0.2.9 may not send as alice@{SENDER}, see https://{SENDER}/spf"
    )


def test_syntax_error_is_a_permerror_naming_the_term(lab_dns: StartLab) -> None:
    server = lab_dns(f'{SENDER} TXT "v=spf1 ip4:192.0.2.300 -all"')
    check = run_check(server, "192.0.2.1")
    assert check.status is Status.FAIL
    assert check.has("spf_permerror")
    assert "ip4:192.0.2.300" in check.remedy


def test_no_record_is_none_and_a_warning(lab_dns: StartLab) -> None:
    server = lab_dns(f"{SENDER} A 192.0.2.1")
    check = run_check(server, "192.0.2.1")
    assert (check.status, check.summary) == (
        Status.WARN,
        f"SPF none: {SENDER} publishes no SPF record",
    )
    assert '"v=spf1 ip4:192.0.2.1 -all"' in check.remedy


def test_to_dict_holds_the_decision_path(lab_dns: StartLab) -> None:
    server = lab_dns(f'{SENDER} TXT "v=spf1 ip4:192.0.2.0/24 -all"')
    data = evaluate(server, "192.0.2.1").to_dict()
    assert set(data) == {
        "result",
        "identity",
        "domain",
        "explanation",
        "lookups",
        "void_lookups",
        "path",
    }
    assert data["result"] == "pass"
    assert [step["text"] for step in data["path"]] == [
        f'{SENDER}: "v=spf1 ip4:192.0.2.0/24 -all"',
        "ip4:192.0.2.0/24 matched → pass",
    ]
