"""`reputation message` judging: real DKIM signatures, verified over the lab DNS server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.dns.resolver import Resolver
from reputation.inputs import parse_nameserver
from reputation.message import MessageFacts, envelope, judge, status
from reputation.message.reading import parse
from tests.message_fixtures import (
    BOUNDARY_HELO,
    BOUNDARY_IP,
    build,
    key_record,
    rsa_key,
    sign,
    world,
)

LabStarter = Callable[[LabWorld | str], LabDNSServer]


def judged(server: LabDNSServer, raw: bytes, *, bulk: bool = False) -> MessageFacts:
    async def run() -> MessageFacts:
        resolver = Resolver([parse_nameserver(server.address)], timeout=2)
        message = parse(raw)
        try:
            return await judge(message, envelope(message), resolver, timeout=2, bulk=bulk)
        finally:
            await resolver.aclose()

    return asyncio.run(run())


def test_a_good_signature_verifies(lab_dns: LabStarter) -> None:
    key = rsa_key()
    facts = judged(lab_dns(world(key)), sign(build(), "brand.net", "s1", key))
    [signature] = facts.dkim
    assert signature.to_dict() == {
        "domain": "brand.net",
        "selector": "s1",
        "algorithm": "rsa-sha256",
        "result": "pass",
        "reason": "signature verifies",
    }


def test_a_changed_body_fails_naming_the_body_hash(lab_dns: LabStarter) -> None:
    key = rsa_key()
    signed = sign(build(), "brand.net", "s1", key)
    tampered = signed.replace(b"this is the news.", b"this is other news.")
    [signature] = judged(lab_dns(world(key)), tampered).dkim
    assert signature.result == "fail"
    assert "body hash" in signature.reason


def test_a_key_removed_from_dns_fails_naming_the_missing_key(lab_dns: LabStarter) -> None:
    key = rsa_key()
    facts = judged(lab_dns(world(key, selector=None)), sign(build(), "brand.net", "s1", key))
    [signature] = facts.dkim
    assert signature.result == "fail"
    assert "key not found" in signature.reason
    assert "s1._domainkey.brand.net" in signature.reason


def test_a_key_lookup_that_times_out_is_temperror_not_missing(lab_dns: LabStarter) -> None:
    key = rsa_key()
    lab = LabWorld.from_text(world(key))
    lab.drop("s1._domainkey.brand.net")
    facts = judged(lab_dns(lab), sign(build(), "brand.net", "s1", key))
    assert facts.dkim[0].result == "temperror"
    assert status(facts) == "error"


def test_brand_signature_over_a_service_envelope_passes_dmarc_through_dkim(
    lab_dns: LabStarter,
) -> None:
    key = rsa_key()
    facts = judged(lab_dns(world(key)), sign(build(), "brand.net", "s1", key))
    assert facts.mail_from == "bounces+123@mail-service.net"
    assert facts.spf is not None and facts.spf.result == "pass"
    assert facts.spf.domain == "mail-service.net"
    assert facts.dmarc is not None
    assert (facts.dmarc.result, facts.dmarc.spf_aligned, facts.dmarc.dkim_aligned) == (
        "pass",
        False,
        True,
    )
    assert facts.dmarc.policy == "reject"


def test_a_signature_by_the_service_alone_fails_dmarc(lab_dns: LabStarter) -> None:
    key = rsa_key()
    extra = key_record("s2._domainkey.mail-service.net", key)
    facts = judged(lab_dns(world(key, extra=extra)), sign(build(), "mail-service.net", "s2", key))
    assert facts.dkim[0].result == "pass"
    assert facts.dmarc is not None and facts.dmarc.result == "fail"
    assert status(facts) == "fail"


def test_strict_alignment_refuses_a_subdomain_signer(lab_dns: LabStarter) -> None:
    key = rsa_key()
    zone = world(key).replace("p=reject; rua=mailto:dmarc@brand.net", "p=reject; adkim=s")
    lab = LabWorld.from_text(zone + key_record("s1._domainkey.news.brand.net", key))
    facts = judged(lab_dns(lab), sign(build(), "news.brand.net", "s1", key))
    assert facts.dkim[0].result == "pass"
    assert facts.dmarc is not None
    assert facts.dmarc.adkim == "s" and not facts.dmarc.dkim_aligned
    assert facts.dmarc.result == "fail"


def test_a_header_only_message_is_not_failed(lab_dns: LabStarter) -> None:
    key = rsa_key()
    signed = sign(build(), "brand.net", "s1", key)
    headers_only = signed.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    [signature] = judged(lab_dns(world(key)), headers_only).dkim
    assert signature.result == "neutral"
    assert "body hash cannot be verified" in signature.reason
    assert "signed headers verify" in signature.reason


def test_an_expired_signature_fails_saying_so(lab_dns: LabStarter) -> None:
    key = rsa_key()
    signed = sign(build(), "brand.net", "s1", key)
    past = int(time.time()) - 30 * 86400
    # A verifier reads x= before anything else (RFC 6376 §3.5), so the changed header is moot.
    expired = signed.replace(b"q=dns/txt;", f"q=dns/txt; x={past};".encode(), 1)
    [signature] = judged(lab_dns(world(key)), expired).dkim
    assert signature.result == "fail"
    assert "expired" in signature.reason


def test_l_tag_is_reported(lab_dns: LabStarter) -> None:
    key = rsa_key()
    signed = sign(build(), "brand.net", "s1", key, length=True)
    [signature] = judged(lab_dns(world(key)), signed).dkim
    assert signature.result == "pass"
    assert "l= is used" in signature.reason


def test_gmail_style_received_chain_yields_the_boundary_ip_and_helo(lab_dns: LabStarter) -> None:
    key = rsa_key()
    facts = judged(lab_dns(world(key)), sign(build(), "brand.net", "s1", key))
    assert (facts.ip, facts.helo, facts.received_by) == (
        BOUNDARY_IP,
        BOUNDARY_HELO,
        "mx.google.com",
    )


def test_missing_one_click_unsubscribe_is_flagged_for_bulk_with_sources(
    lab_dns: LabStarter,
) -> None:
    key = rsa_key()
    raw = build(extra=["List-Unsubscribe: <https://brand.net/u/1>, <mailto:u@brand.net>"])
    facts = judged(lab_dns(world(key)), sign(raw, "brand.net", "s1", key), bulk=True)
    checks = {h.id: h for h in facts.headers}
    one_click = checks["one_click_unsubscribe"]
    assert one_click.status == "fail"
    assert "List-Unsubscribe-Post" in one_click.message
    assert "Gmail" in one_click.message and "Yahoo" in one_click.message
    assert "https://support.google.com/mail/answer/81126" in one_click.sources
    assert "https://senders.yahooinc.com/best-practices/" in one_click.sources
    assert checks["list_unsubscribe"].status == "pass"


def test_without_bulk_the_unsubscribe_rule_is_not_applied(lab_dns: LabStarter) -> None:
    key = rsa_key()
    facts = judged(lab_dns(world(key)), sign(build(), "brand.net", "s1", key))
    checks = {h.id: h for h in facts.headers}
    assert checks["one_click_unsubscribe"].status == "skip"
    assert status(facts) == "pass"


def test_one_click_unsubscribe_signed_passes(lab_dns: LabStarter) -> None:
    key = rsa_key()
    raw = build(
        extra=[
            "List-Unsubscribe: <https://brand.net/u/1>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        ]
    )
    facts = judged(lab_dns(world(key)), sign(raw, "brand.net", "s1", key), bulk=True)
    checks = {h.id: h.status for h in facts.headers}
    assert checks["one_click_unsubscribe"] == "pass"
    assert checks["unsubscribe_signed"] == "pass"
    assert status(facts) == "pass"


@pytest.mark.parametrize(
    ("change", "requirement", "words"),
    [
        ({"message_id": ""}, "message_id", "no Message-ID"),
        ({"message_id": "<no-at-sign>"}, "message_id", "not <left@right>"),
        ({"from_addr": "a@brand.net, b@brand.net"}, "from_single", "exactly one address"),
    ],
)
def test_message_header_defects_fail_with_gmails_reply(
    lab_dns: LabStarter, change: dict[str, str], requirement: str, words: str
) -> None:
    key = rsa_key()
    facts = judged(lab_dns(world(key)), sign(build(**change), "brand.net", "s1", key))
    check = next(h for h in facts.headers if h.id == requirement)
    assert check.status == "fail"
    assert words in check.message
    assert check.replies and check.replies[0].startswith("gmail: 550 5.7.1")


def test_duplicated_single_instance_header_fails(lab_dns: LabStarter) -> None:
    key = rsa_key()
    raw = build(extra=["Subject: a second subject"])
    facts = judged(lab_dns(world(key)), sign(raw, "brand.net", "s1", key))
    check = next(h for h in facts.headers if h.id == "single_instance_headers")
    assert check.status == "fail"
    assert "subject (2x)" in check.message


def test_receiver_authentication_results_disagreement_is_named(lab_dns: LabStarter) -> None:
    key = rsa_key()
    ar = (
        "Authentication-Results: mx.google.com; dkim=fail header.i=@brand.net header.s=s1;"
        " spf=pass smtp.mailfrom=bounces+123@mail-service.net; dmarc=fail header.from=brand.net"
    )
    forged = "Authentication-Results: evil.example; spf=fail smtp.mailfrom=x@mail-service.net"
    raw = build(extra=[])
    signed = sign(raw, "brand.net", "s1", key)
    signed = (ar + "\r\n" + forged + "\r\n").encode() + signed
    facts = judged(lab_dns(world(key)), signed)
    methods = {(r.method, r.result) for r in facts.authentication_results}
    assert methods == {("dkim", "fail"), ("spf", "pass"), ("dmarc", "fail")}
    assert any(d.startswith("DKIM d=brand.net s=s1") for d in facts.disagreements)
    assert any(d.startswith("DMARC") for d in facts.disagreements)
    assert not any(d.startswith("SPF") for d in facts.disagreements)  # and the forged one ignored


def test_arc_chain_of_a_forwarded_message_is_verified(lab_dns: LabStarter) -> None:
    import dkim

    key = rsa_key()
    signed = sign(build(), "brand.net", "s1", key)
    ar = b"Authentication-Results: lists.brand.net; dkim=pass header.d=brand.net\r\n"
    arc = dkim.arc_sign(ar + signed, b"s1", b"brand.net", key.private_pem, b"lists.brand.net")
    forwarded = b"".join(arc) + ar + signed
    facts = judged(lab_dns(world(key)), forwarded)
    check = next(h for h in facts.headers if h.id == "arc_chain")
    assert check.status == "pass", check.message
    broken = forwarded.replace(b"this is the news.", b"this is changed news.")
    facts = judged(lab_dns(world(key)), broken)
    assert next(h for h in facts.headers if h.id == "arc_chain").status == "fail"


def test_null_sender_is_judged_by_its_helo(lab_dns: LabStarter) -> None:
    key = rsa_key()
    zone = world(key, extra='o1.mail-service.net TXT "v=spf1 a -all"\n')
    facts = judged(lab_dns(zone), sign(build(return_path="<>"), "brand.net", "s1", key))
    assert facts.mail_from == ""
    assert facts.spf is not None
    assert (facts.spf.identity, facts.spf.domain, facts.spf.result) == (
        "helo",
        BOUNDARY_HELO,
        "pass",
    )


def test_an_ed25519_signature_verifies(lab_dns: LabStarter) -> None:
    import base64

    import dkim
    import nacl.signing

    seed = nacl.signing.SigningKey.generate()
    public = base64.b64encode(bytes(seed.verify_key)).decode()
    zone = world(rsa_key(), extra=f'e1._domainkey.brand.net TXT "v=DKIM1; k=ed25519; p={public}"\n')
    message = build()
    signature = dkim.sign(
        message, b"e1", b"brand.net", base64.b64encode(bytes(seed)),
        signature_algorithm=b"ed25519-sha256", include_headers=[b"from", b"subject", b"date"],
    )  # fmt: skip
    [result] = judged(lab_dns(zone), signature + message).dkim
    assert (result.algorithm, result.result) == ("ed25519-sha256", "pass")
