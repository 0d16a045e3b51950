"""Provider predictions in a local test world: who would refuse this sender, and with which reply."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import reputation
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.report import Report, Status
from tests.worlds import PRECONDITIONS, authenticated

AUTH_WORLD = (
    authenticated("include-fail.net", spf="v=spf1 include:_spf.mailer.net -all")
    + authenticated("a-pass.net", spf="v=spf1 a:out.a-pass.net -all")
    + authenticated("monitor-only.net", dmarc="p=none")
    + """
_spf.mailer.net TXT "v=spf1 ip4:198.51.100.0/24 -all"
out.a-pass.net A 81.2.69.142
"""
)
for domain in ("include-fail.net", "a-pass.net", "monitor-only.net"):
    AUTH_WORLD += f"{domain} NS ns1.{domain}.\n{domain} MX 10 mail.clean.net.\n"


@pytest.fixture(scope="module")
def server() -> Iterator[LabDNSServer]:
    with LabDNSServer(LabWorld.from_text(PRECONDITIONS + AUTH_WORLD)) as s:
        yield s


def check(server: LabDNSServer, domain: str, ip: str, helo: str, **options: object) -> Report:
    return reputation.check(
        domain, ip, helo, nameservers=[server.address], timeout=2, rdap=False, **options
    )


def provider(report: Report, provider_id: str) -> tuple[str, list[str]]:
    found = next(p for p in report.providers if p.id == provider_id)
    return found.verdict, [r.expected_reply for r in found.reasons]


def test_clean_sender_is_rejected_by_nobody(server: LabDNSServer) -> None:
    report = check(server, "clean.net", "81.2.69.142", "mail.clean.net")
    assert len(report.providers) >= 13
    assert {p.verdict for p in report.providers} == {"accept"}


def test_sender_without_ptr_is_rejected_by_gmail_with_its_5_7_25_reply(
    server: LabDNSServer,
) -> None:
    verdict, replies = provider(
        check(server, "clean.net", "81.2.69.143", "mail.clean.net"), "gmail"
    )
    assert verdict == "reject"
    assert any(reply.startswith("550 5.7.25") for reply in replies)


def test_dynamic_looking_sender_is_rejected_by_outlook(server: LabDNSServer) -> None:
    report = check(server, "clean.net", "81.2.69.146", "146-69-2-81.dsl.dynamic.isp-cable.net")
    found = next(p for p in report.providers if p.id == "outlook")
    assert found.verdict == "reject"
    assert "dynamic-ptr" in [r.rule for r in found.reasons]
    assert all(r.source.startswith("https://") for r in found.reasons)


def test_spf_fail_through_an_include_with_dmarc_reject(server: LabDNSServer) -> None:
    report = check(server, "include-fail.net", "81.2.69.142", "mail.clean.net")
    spf = report.check("spf")
    assert spf.status is Status.FAIL
    path = " ".join(spf.findings[0].evidence)
    assert "include:_spf.mailer.net" in path and "-all" in path
    assert str(report.verdict) == "fail"
    verdict, replies = provider(report, "gmail")
    assert verdict == "reject"
    assert any("5.7.26" in reply for reply in replies)


def test_spf_a_mechanism_covering_the_ip_passes(server: LabDNSServer) -> None:
    report = check(server, "a-pass.net", "81.2.69.142", "mail.clean.net")
    assert report.check("spf").status is Status.PASS
    assert "a:out.a-pass.net" in report.check("spf").summary


def test_dmarc_p_none_warns(server: LabDNSServer) -> None:
    report = check(server, "monitor-only.net", "81.2.69.142", "mail.clean.net")
    assert report.check("dmarc").status is Status.WARN
    assert report.check("dmarc").has("dmarc_policy_none")


def test_dkim_key_at_a_common_selector_is_found(server: LabDNSServer) -> None:
    report = check(server, "clean.net", "81.2.69.142", "mail.clean.net")
    assert report.check("dkim").has("dkim_found")
    assert "default._domainkey.clean.net" in report.check("dkim").summary


def test_provider_option_limits_the_predictions(server: LabDNSServer) -> None:
    report = check(
        server, "clean.net", "81.2.69.143", "mail.clean.net", providers=["gmail", "outlook"]
    )
    assert [p.id for p in report.providers] == ["gmail", "outlook"]


def test_unknown_provider_is_bad_input(server: LabDNSServer) -> None:
    with pytest.raises(reputation.BadInput, match="hotmail"):
        check(server, "clean.net", "81.2.69.142", "mail.clean.net", providers=["hotmail"])


def test_bulk_rules_apply_only_to_bulk_senders(server: LabDNSServer) -> None:
    world = "dmarc-less.net NS ns1.dmarc-less.net.\ndmarc-less.net MX 10 mail.clean.net.\n"
    world += 'dmarc-less.net TXT "v=spf1 ip4:81.2.69.142 -all"\n'
    world += 'default._domainkey.dmarc-less.net TXT "v=DKIM1; k=ed25519; p=rJYabG/us/1IXO5VzAClTE8JwhgdZt1hJK4EhU9Jz2s="\n'
    with LabDNSServer(LabWorld.from_text(PRECONDITIONS + world)) as own:
        quiet = check(own, "dmarc-less.net", "81.2.69.142", "mail.clean.net")
        bulk = check(own, "dmarc-less.net", "81.2.69.142", "mail.clean.net", bulk=True)
    assert provider(quiet, "gmail")[0] == "accept"
    assert provider(bulk, "gmail")[0] in ("reject", "defer")


def test_the_fix_list_says_each_remedy_once(server: LabDNSServer) -> None:
    report = check(server, "clean.net", "81.2.69.143", "mail.clean.net")
    rejecting = [p for p in report.providers if p.verdict == "reject"]
    assert len(rejecting) > 3  # many providers refuse for the missing PTR...
    assert sum("PTR" in step for step in report.remedies) == 1  # ...and the fix is said once
    assert report.remedies[0].startswith("helo_ptr:")


NO_AUTH = "no-auth.net NS ns1.no-auth.net.\nno-auth.net MX 10 mail.clean.net.\n"


def test_no_dkim_at_common_selectors_is_not_taken_as_proof_of_no_signing(
    server: LabDNSServer,
) -> None:
    with LabDNSServer(LabWorld.from_text(PRECONDITIONS + NO_AUTH)) as own:
        guessed = check(own, "no-auth.net", "81.2.69.142", "mail.clean.net")
        told = check(own, "no-auth.net", "81.2.69.142", "mail.clean.net", dkim_selectors=["mine"])
    yahoo_guessed = next(p for p in guessed.providers if p.id == "yahoo")
    assert yahoo_guessed.verdict == "unknown"
    assert any("--dkim-selector" in why for why in yahoo_guessed.unknown_because)
    assert provider(told, "yahoo")[0] == "reject"  # the sender named its selector: no key there


def test_dmarc_reject_is_not_predicted_when_a_dkim_key_can_still_align(
    server: LabDNSServer,
) -> None:
    report = check(server, "include-fail.net", "81.2.69.142", "mail.clean.net")
    assert report.check("dkim").has("dkim_found")
    gmail = next(p for p in report.providers if p.id == "gmail")
    assert "dmarc-reject" not in [r.rule for r in gmail.reasons]


def test_the_same_reply_is_one_reason(server: LabDNSServer) -> None:
    with LabDNSServer(
        LabWorld.from_text(PRECONDITIONS + "142.69.2.81.zen.spamhaus.org A 127.0.0.10\n")
    ) as own:
        report = check(own, "clean.net", "81.2.69.142", "mail.clean.net")
    outlook = next(p for p in report.providers if p.id == "outlook")
    replies = [r.expected_reply for r in outlook.reasons]
    assert outlook.verdict == "reject" and len(replies) == len(set(replies))
