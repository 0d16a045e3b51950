"""The dkim check over real DNS against the lab server, and the key record reader."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Sequence

import pytest

from reputation.checks import dkim
from reputation.context import Context
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.dns.resolver import Resolver
from reputation.engine import make_options
from reputation.inputs import BadInput, parse_domain, parse_ip
from reputation.protocols import dkim as key_records
from reputation.report import CheckResult, Finding, Status

# Public keys made once for these tests with the openssl CLI:
#   openssl genrsa -out k.pem BITS; openssl rsa -in k.pem -pubout -outform DER | base64 -w0
#   (RSA_1024_PKCS1: openssl rsa -in k.pem -RSAPublicKey_out -outform DER | base64 -w0)
#   openssl genpkey -algorithm ed25519 -out e.pem; openssl pkey -in e.pem -pubout -outform DER
#   (ED25519_RAW is the last 32 bytes of that SubjectPublicKeyInfo)
RSA_512 = (
    "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAOe9xFGblM6BmqKiTb2p4tUEaRCUCCr90w85envPPpNDdc+l69JiifqEvd"
    "388pZy2nrV889CILLmretaa673RzsCAwEAAQ=="
)
RSA_1024 = (
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDfkR1bVUlu7N54MjHU9CkIWQlPxbH+QwlL3PapBPDYZawqJzgqxK"
    "j7FtLLRgbiT898KW25bSg0Rgf7WMO8ziIKLgEy3aW8VpVkv7h5dOTtKB6R8npmS7bwTrtes2lsRqEMRbnyE6+Jl+Ku"
    "j5cTTUyP2ydl3CUiana7LwVc6otP5QIDAQAB"
)
RSA_1024_PKCS1 = (
    "MIGJAoGBAN+RHVtVSW7s3ngyMdT0KQhZCU/Fsf5DCUvc9qkE8NhlrConOCrEqPsW0stGBuJPz3wpbbltKDRGB/tYw7"
    "zOIgouATLdpbxWlWS/uHl05O0oHpHyemZLtvBOu16zaWxGoQxFufITr4mX4q6PlxNNTI/bJ2XcJSJqdrsvBVzqi0/l"
    "AgMBAAE="
)
RSA_2048 = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx9KG3UuZw5YW/xMCSp9KMKm41a3Tw4tGuI5nq2lMcY4du9"
    "IPG5sPw0dre2ONWHQ8I5vQKy02nuOM0FALhw5ZigcVHzfnZWsXuSroxd525eTUym73m2lLPU/bOxDoPB10/L+Z2YEu"
    "8rV91n3IDMpmpQDo3kSUs4khbYB+aKWDbBW3uMEPqdumydANgzJAioNs1IgAr2xYNwV+ewbe/7O2KTRpsPHjQkEqGo"
    "mdp0pSoABo0ZDJ2SKwwhTJrLaEXjSAvaPWcv0tm/GcEdA2aCCEITpZQI32H6LzGTINUCsWTxISqdYr8MAxbuIjQxsy"
    "lD9gjOJeTueQqknY8kDwuwLDswIDAQAB"
)
ED25519_RAW = "rJYabG/us/1IXO5VzAClTE8JwhgdZt1hJK4EhU9Jz2s="
ED25519_SPKI = "MCowBQYDK2VwAyEArJYabG/us/1IXO5VzAClTE8JwhgdZt1hJK4EhU9Jz2s="

DOMAIN = "example.com"
Runner = Callable[..., tuple[CheckResult, LabDNSServer]]


def key_world(*records: tuple[str, str]) -> LabWorld:
    """A world with TXT key records, each split into 255-byte strings as a zone would hold it."""
    world = LabWorld()
    for name, text in records:
        world.add_txt(name, *chunks(text))
    return world


def chunks(text: str, size: int = 255) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def make_context(server: LabDNSServer, domain: str, selectors: Sequence[str]) -> Context:
    options = make_options(
        nameservers=[server.address], timeout=1, rdap=False, dkim_selectors=list(selectors)
    )
    resolver = Resolver(nameservers=options.nameservers, timeout=options.timeout)
    return Context(parse_domain(domain), parse_ip("192.0.2.10"), None, resolver, options)


@pytest.fixture
def run_dkim(lab_dns: Callable[[LabWorld | str], LabDNSServer]) -> Runner:
    def run(
        world: LabWorld | str, selectors: Sequence[str] = (), domain: str = DOMAIN
    ) -> tuple[CheckResult, LabDNSServer]:
        server = lab_dns(world)
        return asyncio.run(dkim.run(make_context(server, domain, selectors))), server

    return run


def codes(result: CheckResult) -> list[str]:
    return [f.code for f in result.findings]


def finding(result: CheckResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert found, f"no {code} finding in {[(f.code, f.message) for f in result.findings]}"
    return found[0]


# --- the check, over DNS -------------------------------------------------------------------


def test_2048_bit_key_at_a_default_selector_passes(run_dkim: Runner) -> None:
    result, _ = run_dkim(
        key_world(("google._domainkey.example.com", f"v=DKIM1; k=rsa; p={RSA_2048}"))
    )
    assert result.status is Status.PASS
    found = finding(result, "dkim_found")
    assert "RSA 2048-bit" in found.message and "selector google" in found.message
    assert "recommends" not in found.message
    assert any(RSA_2048[:60] in e for e in found.evidence)


def test_user_selector_is_probed_first_and_found(run_dkim: Runner) -> None:
    world = key_world(("mykey2024._domainkey.example.com", f"v=DKIM1; p={RSA_2048}"))
    result, server = run_dkim(world, selectors=["MyKey2024"])
    assert codes(result) == ["dkim_found"]
    assert "selector mykey2024" in result.findings[0].message
    asked = [name for name, rdtype, _ in server.log if rdtype == "TXT"]
    assert asked.count("mykey2024._domainkey.example.com.") == 1
    assert len(asked) == len(dkim.default_selectors()) + 1


def test_missing_user_selector_is_named(run_dkim: Runner) -> None:
    world = key_world(("selector1._domainkey.example.com", f"p={RSA_2048}"))
    result, _ = run_dkim(world, selectors=["s2024"])
    missing = finding(result, "dkim_selector_missing")
    assert missing.status is Status.WARN and "s2024" in missing.message
    assert "dkim_found" in codes(result) and "dkim_not_found" not in codes(result)


@pytest.mark.parametrize("selector", ["bad selector!", "", "a..b", "-x"])
def test_invalid_user_selector_is_bad_input(selector: str) -> None:
    with pytest.raises(BadInput, match="DKIM selector"):
        make_options(nameservers=["127.0.0.1:1"], dkim_selectors=[selector])


def test_cname_to_a_hosted_key_is_followed_and_shown(run_dkim: Runner) -> None:
    world = key_world(("s1.domainkey.u123.wl.sendgrid.example.net", f"k=rsa; p={RSA_2048}"))
    world.add("s1._domainkey.example.com", "CNAME", "s1.domainkey.u123.wl.sendgrid.example.net.")
    result, _ = run_dkim(world)
    found = finding(result, "dkim_found")
    assert "CNAME to s1.domainkey.u123.wl.sendgrid.example.net" in found.message
    assert any("-> CNAME s1.domainkey.u123.wl.sendgrid.example.net" in e for e in found.evidence)


def test_revoked_key_alone_fails(run_dkim: Runner) -> None:
    result, _ = run_dkim(key_world(("selector1._domainkey.example.com", "v=DKIM1; k=rsa; p=")))
    assert result.status is Status.FAIL
    assert finding(result, "dkim_revoked").status is Status.FAIL


def test_revoked_key_beside_a_live_one_only_warns(run_dkim: Runner) -> None:
    world = key_world(
        ("selector1._domainkey.example.com", "v=DKIM1; k=rsa; p="),
        ("selector2._domainkey.example.com", f"v=DKIM1; k=rsa; p={RSA_2048}"),
    )
    result, _ = run_dkim(world)
    assert result.status is Status.WARN
    assert finding(result, "dkim_revoked").status is Status.WARN
    assert finding(result, "dkim_found").status is Status.PASS


def test_1024_bit_key_passes_with_advice(run_dkim: Runner) -> None:
    result, _ = run_dkim(key_world(("default._domainkey.example.com", f"v=DKIM1; p={RSA_1024}")))
    assert result.status is Status.PASS
    assert "RSA 1024-bit key (RFC 8301 recommends 2048)" in finding(result, "dkim_found").message


def test_512_bit_key_is_weak(run_dkim: Runner) -> None:
    result, _ = run_dkim(key_world(("default._domainkey.example.com", f"v=DKIM1; p={RSA_512}")))
    assert result.status is Status.WARN
    weak = finding(result, "dkim_weak_key")
    assert "512-bit" in weak.message and "Gmail requires at least 1024" in weak.message
    assert "dkim_found" not in codes(result)


def test_ed25519_key_passes(run_dkim: Runner) -> None:
    result, _ = run_dkim(
        key_world(("mail._domainkey.example.com", f"v=DKIM1; k=ed25519; p={ED25519_RAW}"))
    )
    assert result.status is Status.PASS
    assert "Ed25519" in finding(result, "dkim_found").message


def test_testing_flag_warns(run_dkim: Runner) -> None:
    result, _ = run_dkim(key_world(("k1._domainkey.example.com", f"v=DKIM1; t=y:s; p={RSA_2048}")))
    assert result.status is Status.WARN
    assert finding(result, "dkim_testing").status is Status.WARN
    assert finding(result, "dkim_found").status is Status.PASS


def test_invalid_record_fails(run_dkim: Runner) -> None:
    result, _ = run_dkim(key_world(("s1._domainkey.example.com", "v=DKIM1; k=rsa; p=not*base64")))
    assert result.status is Status.FAIL
    assert "base64" in finding(result, "dkim_invalid").message


def test_two_keys_at_one_selector_warn(run_dkim: Runner) -> None:
    world = key_world(
        ("s1._domainkey.example.com", f"v=DKIM1; p={RSA_2048}"),
        ("s1._domainkey.example.com", f"v=DKIM1; p={RSA_1024}"),
    )
    result, _ = run_dkim(world)
    assert finding(result, "dkim_multiple").status is Status.WARN
    assert codes(result).count("dkim_found") == 2


def test_nothing_found_warns_and_says_how_to_name_the_selector(run_dkim: Runner) -> None:
    result, _ = run_dkim("example.com MX 10 mail.example.com.")
    assert result.status is Status.WARN
    missing = finding(result, "dkim_not_found")
    assert "cannot be listed" in missing.message and "--dkim-selector" in missing.message
    assert "google, k1" in missing.evidence[0] and "selector1" in missing.evidence[0]


def test_spf_at_a_wildcard_is_not_a_key(run_dkim: Runner) -> None:
    result, _ = run_dkim('*.example.com TXT "v=spf1 -all"')
    assert codes(result) == ["dkim_not_found"]


def test_all_lookups_failing_is_an_error(run_dkim: Runner) -> None:
    world = LabWorld.from_text("example.com MX 10 mail.example.com.").servfail(
        "*._domainkey.example.com"
    )
    result, _ = run_dkim(world)
    assert result.status is Status.ERROR
    assert codes(result) == ["dkim_unverified"]


def test_a_failed_lookup_with_none_found_is_unverified_not_missing(run_dkim: Runner) -> None:
    # The selector that failed may be the one holding the key: "no key" cannot be concluded.
    world = LabWorld.from_text("example.com MX 10 mail.example.com.").servfail(
        "google._domainkey.example.com"
    )
    result, _ = run_dkim(world)
    assert result.status is Status.ERROR
    assert codes(result) == ["dkim_unverified"]
    assert "google" in finding(result, "dkim_unverified").message


def test_failed_user_selector_lookup_is_an_error(run_dkim: Runner) -> None:
    world = key_world(("google._domainkey.example.com", f"p={RSA_2048}")).servfail(
        "mine._domainkey.example.com"
    )
    result, _ = run_dkim(world, selectors=["mine"])
    assert result.status is Status.ERROR
    assert finding(result, "dkim_unverified").status is Status.ERROR


# --- the key record reader -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "bits"), [(RSA_512, 512), (RSA_1024, 1024), (RSA_1024_PKCS1, 1024), (RSA_2048, 2048)]
)
def test_rsa_modulus_bits(key: str, bits: int) -> None:
    assert key_records.rsa_modulus_bits(base64.b64decode(key)) == bits


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"\x30",
        b"\x30\x05\x02\x01",
        base64.b64decode(ED25519_SPKI),
        b"\x04\x00",
        base64.b64decode(RSA_1024)[:-1],
    ],
)
def test_rsa_modulus_bits_rejects_what_is_not_an_rsa_key(der: bytes) -> None:
    with pytest.raises(key_records.KeyFormatError):
        key_records.rsa_modulus_bits(der)


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ("k=rsa; p=", None),
        ("v=DKIM1; k=rsa", "no p= tag"),
        (f"k=rsa; v=DKIM1; p={RSA_2048}", "must be the first tag"),
        (f"v=DKIM1; k=dsa; p={RSA_2048}", "k=dsa"),
        (f"v=DKIM1; h=sha1; p={RSA_2048}", "h=sha1"),
        (f"v=DKIM1; s=tlsrpt; p={RSA_2048}", "not for email"),
        (f"v=DKIM1; k=ed25519; p={ED25519_SPKI}", "bare 32-byte"),
        (f"v=DKIM1; k=ed25519; p={RSA_2048}", "Ed25519 key is 32"),
        (f"v=DKIM1; k=rsa; p={ED25519_SPKI}", "set k=ed25519"),
        ("v=DKIM1; p", "not tag=value"),
    ],
)
def test_key_record_problems(record: str, fragment: str | None) -> None:
    key = key_records.parse_key_record(record)
    if fragment is None:
        assert key.revoked and not key.problems
    else:
        assert any(fragment in p for p in key.problems), key.problems


def test_key_record_accepts_whitespace_in_p_and_sha256_in_h() -> None:
    spaced = " ".join(chunks(RSA_2048, 64))
    key = key_records.parse_key_record(f"v=DKIM1; h=sha1:sha256; s=email; t=s; n=note; p={spaced}")
    assert (key.problems, key.bits, key.testing) == ((), 2048, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=DKIM1; p=abc", True),
        ("k=rsa; p=abc", True),
        ("p=", True),
        ("v=spf1 -all", False),
        ("google-site-verification=x", False),
        ("v=DKIM2; p=abc", False),
    ],
)
def test_looks_like_key(text: str, expected: bool) -> None:
    assert key_records.looks_like_key(text) is expected


def test_selectors_to_probe_puts_the_users_first_without_repeats() -> None:
    ordered, mine, invalid = dkim.selectors_to_probe(
        ["Google", "s2024._domainkey.example.com", "s2024", "", "a b"], "example.com"
    )
    assert mine == ["google", "s2024"]
    assert invalid == ["", "a b"]
    assert ordered[:2] == ["google", "s2024"] and ordered.count("google") == 1
    assert len(ordered) == len(dkim.default_selectors()) + 1


def test_default_selectors_carry_a_note_and_known_names() -> None:
    selectors = dkim.default_selectors()
    names = {s.name for s in selectors}
    assert {"default", "selector1", "selector2", "google", "k1", "s1", "mandrill"} <= names
    assert len(names) == len(selectors) and all(s.used_by for s in selectors)
    assert all(s.source == "" or s.source.startswith("https://") for s in selectors)


def test_a_selector_input_accepts_is_probed_not_called_invalid(run_dkim: Runner) -> None:
    # One rule for selectors: what --dkim-selector accepts, the check probes.
    assert make_options(nameservers=["127.0.0.1:1"], dkim_selectors=["my_sel"])
    world = key_world(("my_sel._domainkey.example.com", f"v=DKIM1; k=rsa; p={RSA_2048}"))
    result, _ = run_dkim(world, selectors=["my_sel"])
    assert "dkim_selector_invalid" not in codes(result)
    assert "selector my_sel" in finding(result, "dkim_found").message
