"""Blocklist catalog, answer reading, lookups and health, against the lab DNS server."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from reputation.blocklists import (
    LISTS_EVERYTHING,
    Blocklist,
    Catalog,
    CatalogError,
    Health,
    health,
    interpret,
    load_catalog,
    lookup,
    query_name,
)
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.dns.resolver import Answer, Outcome, Resolver
from reputation.report import BlocklistResult, ListingStatus

T = TypeVar("T")
LabDNS = Callable[[LabWorld | str], LabDNSServer]

SBL_IP = ipaddress.ip_address("192.0.2.1")
V6_IP = ipaddress.ip_address("2001:db8::1")
V6_NIBBLES = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"

WORLD = f"""
2.0.0.127.zen.spamhaus.org      A 127.0.0.2
1.2.0.192.zen.spamhaus.org      A 127.0.0.2
1.2.0.192.zen.spamhaus.org      TXT "Listed in SBL, see https://check.spamhaus.org/sbl/query/SBL1"
4.2.0.192.zen.spamhaus.org      A 127.0.0.4
10.2.0.192.zen.spamhaus.org     A 127.0.0.10
50.2.0.192.zen.spamhaus.org     A 127.0.0.50
66.2.0.192.zen.spamhaus.org     A 10.0.0.1
99.2.0.192.zen.spamhaus.org     A 127.0.0.2
99.2.0.192.zen.spamhaus.org     A 127.255.255.254
254.2.0.192.zen.spamhaus.org    A 127.255.255.254
{V6_NIBBLES}.zen.spamhaus.org   A 127.0.0.3
1.2.0.192.abc.zen.dq.spamhaus.net A 127.0.0.4
1.2.0.192.cbl.abuseat.org       A 127.0.0.2
spammy.example.dbl.spamhaus.org A 127.0.1.2
wrong.example.dbl.spamhaus.org  A 127.0.1.255
greyblack.example.multi.uribl.com A 127.0.0.6
refused.example.multi.uribl.com A 127.0.0.1
refused.example.multi.uribl.com TXT "127.0.0.53 is refused, see https://uribl.com/refused.shtml"
phish.example.multi.surbl.org   A 127.0.0.72
1.2.0.192.key.combined.mail.abusix.zone A 127.0.0.2
"""

FAKE_SOURCE = "https://fake.test/docs"
FAKE_CATALOG = f"""
schema_version = 1
updated = "2026-01-01"

[[list]]
id = "fake-ip"
name = "Fake IP list"
zone = "ip.fake.test"
subject = ["ip4", "ip6"]
status = "active"
default = true
match = "exact"
key_env = "FAKE_KEY"
key_zone = "{{key}}.keyed.fake.test"
test_listed = "127.0.0.2"
test_clean = "127.0.0.1"
removal_url = "https://fake.test/remove?ip={{query}}"
sources = ["{FAKE_SOURCE}"]

  [[list.code]]
  value = "127.0.0.2"
  meaning = "fake spam source"
  severity = "block"
  source = "{FAKE_SOURCE}"

  [[list.code]]
  value = "127.0.0.10-127.0.0.11"
  meaning = "fake dynamic range"
  severity = "policy"
  source = "{FAKE_SOURCE}"

  [[list.code]]
  value = "127.0.0.20"
  meaning = "fake allowlisted sender"
  severity = "allow"
  source = "{FAKE_SOURCE}"

  [[list.error]]
  value = "127.255.255.254"
  kind = "refused"
  meaning = "fake public resolver refusal"
  remedy = "use your own resolver"
  source = "{FAKE_SOURCE}"

[[list]]
id = "fake-bits"
name = "Fake bitmask list"
zone = "bits.fake.test"
subject = ["domain"]
status = "active"
default = false
match = "bitmask"
test_clean = "invalid"
lookup_url = "https://fake.test/lookup/{{query}}"

  [[list.bit]]
  bit = 2
  meaning = "fake black"
  severity = "block"
  source = "{FAKE_SOURCE}"

  [[list.bit]]
  bit = 4
  meaning = "fake grey"
  severity = "info"
  source = "{FAKE_SOURCE}"

  [[list.error]]
  value = "127.0.0.1"
  kind = "refused"
  meaning = "fake refused"
  remedy = "use your own resolver"
  source = "{FAKE_SOURCE}"

[[list]]
id = "fake-nocodes"
name = "Fake list without codes"
zone = "nocodes.fake.test"
subject = ["ip4"]
status = "active"
default = true
match = "exact"
test_clean = "127.0.0.1"

[[list]]
id = "fake-retired"
name = "Fake retired list"
zone = "retired.fake.test"
subject = ["ip4"]
status = "retired"
status_date = "2020-01-01"
status_note = "shut down"
default = false
match = "exact"
"""


# --- helpers ---------------------------------------------------------------------------------


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def resolver_for(server: LabDNSServer, timeout: float = 2.0) -> Resolver:
    return Resolver(nameservers=[("127.0.0.1", server.port)], timeout=timeout)


def packaged(list_id: str) -> Blocklist:
    found = load_catalog().by_id(list_id)
    assert found is not None, list_id
    return found


def fake_catalog(tmp_path: Path, text: str = FAKE_CATALOG) -> Catalog:
    path = tmp_path / "blocklists.toml"
    path.write_text(text, encoding="utf-8")
    return load_catalog(path)


def fake(tmp_path: Path, list_id: str) -> Blocklist:
    found = fake_catalog(tmp_path).by_id(list_id)
    assert found is not None
    return found


def ask(
    server: LabDNSServer,
    blocklist: Blocklist,
    ip: str | None = None,
    domain: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 2.0,
) -> list[BlocklistResult]:
    address = ipaddress.ip_address(ip) if ip else None
    return run(lookup(resolver_for(server, timeout), blocklist, address, domain, env or {}))


def one(results: list[BlocklistResult]) -> BlocklistResult:
    assert len(results) == 1, results
    return results[0]


def a_answer(*values: str) -> Answer:
    rdata = tuple(
        dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.A, value) for value in values
    )
    return Answer("x.example", "A", Outcome.ANSWER, rdata=rdata)


def names_asked(server: LabDNSServer, suffix: str, rdtype: str = "A") -> list[str]:
    return [name for name, qtype, _ in server.queried(suffix) if qtype == rdtype]


# --- the packaged catalog ---------------------------------------------------------------------


def test_packaged_catalog_loads_once_and_every_fact_has_a_source() -> None:
    catalog = load_catalog()
    assert load_catalog() is catalog
    assert len(catalog.lists) > 20
    entries = [e for b in catalog.lists for e in (*b.codes, *b.bits, *b.errors)]
    assert entries
    assert all(e.source.startswith(("https://", "http://")) for e in entries)


def test_default_lists_are_active_and_exclude_retired_and_key_only() -> None:
    catalog = load_catalog()
    default = catalog.default()
    ids = {b.id for b in default}
    assert {"spamhaus-zen", "spamhaus-dbl", "spamcop"} <= ids
    assert not any(b.retired for b in default)
    retired = [b for b in catalog.lists if b.retired]
    assert retired and not {b.id for b in retired} & ids
    assert "abusix-combined" not in ids


def test_select_by_id_or_zone_and_unknown_name() -> None:
    catalog = load_catalog()
    chosen = catalog.select(["spamhaus-zen", "bl.spamcop.net.", "ZEN.spamhaus.org"])
    assert [b.id for b in chosen] == ["spamhaus-zen", "spamcop"]
    with pytest.raises(CatalogError, match=re.escape("unknown blocklist 'nope.example'")):
        catalog.select(["nope.example"])


def test_effective_zone_uses_the_key_only_when_given() -> None:
    zen = packaged("spamhaus-zen")
    assert zen.effective_zone({}) == "zen.spamhaus.org"
    assert zen.effective_zone({"SPAMHAUS_DQS_KEY": " "}) == "zen.spamhaus.org"
    assert zen.effective_zone({"SPAMHAUS_DQS_KEY": "abc"}) == "abc.zen.dq.spamhaus.net"


# --- catalog errors ---------------------------------------------------------------------------


def test_broken_toml_names_file_and_position(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as caught:
        fake_catalog(tmp_path, 'schema_version = 1\n[[list]]\nid = "x\n')
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "blocklists.toml"))
    assert "line 3" in message and "\n" not in message


def test_bad_severity_names_the_list(tmp_path: Path) -> None:
    text = FAKE_CATALOG.replace('severity = "policy"', 'severity = "blok"')
    with pytest.raises(CatalogError, match=r"blocklists\.toml: list 'fake-ip' code .*'blok'"):
        fake_catalog(tmp_path, text)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('zone = "ip.fake.test"\n', "", "missing field 'zone'"),
        ('match = "bitmask"', 'match = "bits"', "match 'bits' is not one of"),
        ('subject = ["ip4", "ip6"]', 'subject = ["ipv4"]', "subject 'ipv4'"),
        ('value = "127.0.0.20"', 'value = "10.0.0.20"', "outside 127.0.0.0/8"),
        ('remedy = "use your own resolver"\n  source', 'remedy = "x"\n  sorce', "'sorce'"),
        ('key_zone = "{key}.keyed.fake.test"', 'key_zone = "keyed.fake.test"', "no {key}"),
        ('status_note = "shut down"\ndefault = false', "default = true", "retired list"),
        ("bit = 4", "bit = 3", "bit 3 is not a single bit"),
        ('zone = "bits.fake.test"', 'zone = "ip.fake.test"', "duplicate zone"),
    ],
)
def test_strict_validation(tmp_path: Path, old: str, new: str, problem: str) -> None:
    assert old in FAKE_CATALOG
    with pytest.raises(CatalogError, match=re.escape(problem)):
        fake_catalog(tmp_path, FAKE_CATALOG.replace(old, new, 1))


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.toml")


def test_fake_catalog_default_and_removal_urls(tmp_path: Path) -> None:
    catalog = fake_catalog(tmp_path)
    assert [b.id for b in catalog.default()] == ["fake-ip", "fake-nocodes"]
    assert catalog.by_zone("BITS.fake.test.") is catalog.by_id("fake-bits")
    bits, nocodes = catalog.select(["fake-bits", "fake-nocodes"])
    ip_list = catalog.by_id("fake-ip")
    assert ip_list is not None
    assert ip_list.removal_for("192.0.2.1") == "https://fake.test/remove?ip=192.0.2.1"
    assert bits.removal_for("a.example") == "https://fake.test/lookup/a.example"
    assert nocodes.removal_for("192.0.2.1") == ""


# --- query names ------------------------------------------------------------------------------


def test_query_names() -> None:
    assert query_name("192.0.2.1", "ip4") == "1.2.0.192"
    assert query_name("2001:db8::1", "ip6") == V6_NIBBLES
    assert len(query_name("2001:db8::1", "ip6").split(".")) == 32
    assert query_name("Example.COM.", "domain") == "example.com"
    assert query_name("bücher.example", "domain") == "xn--bcher-kva.example"
    with pytest.raises(ValueError):
        query_name("192.0.2.1", "ip6")


# --- reading answers (pure) -------------------------------------------------------------------


def test_interpret_outcomes() -> None:
    zen = packaged("spamhaus-zen")
    nx = Answer("x", "A", Outcome.NXDOMAIN)
    assert interpret(zen, nx).status is ListingStatus.CLEAN
    assert interpret(zen, Answer("x", "A", Outcome.NODATA)).status is ListingStatus.CLEAN
    timeout = interpret(zen, Answer("x", "A", Outcome.TIMEOUT, detail="no answer within 1s"))
    assert (timeout.status, timeout.detail.startswith("timed out")) == (ListingStatus.ERROR, True)
    servfail = interpret(zen, Answer("x", "A", Outcome.SERVFAIL))
    assert (servfail.status, servfail.detail) == (ListingStatus.ERROR, "SERVFAIL")
    refused = interpret(zen, Answer("x", "A", Outcome.REFUSED))
    assert refused.status is ListingStatus.REFUSED
    assert refused.remedy == "add your key via SPAMHAUS_DQS_KEY"
    spamcop = interpret(packaged("spamcop"), Answer("x", "A", Outcome.REFUSED))
    assert spamcop.remedy == "query through your own recursive resolver"


def test_interpret_error_code_wins_over_listing_codes() -> None:
    reading = interpret(packaged("spamhaus-zen"), a_answer("127.0.0.2", "127.255.255.255"))
    assert reading.status is ListingStatus.REFUSED
    assert reading.meanings == () and reading.severity == ""
    assert "Excessive number of queries" in reading.detail
    typo = interpret(packaged("spamhaus-zen"), a_answer("127.255.255.252"))
    assert typo.status is ListingStatus.ERROR and "Typo" in typo.detail


def test_interpret_several_codes_takes_the_most_serious(tmp_path: Path) -> None:
    ip_list = fake(tmp_path, "fake-ip")
    both = interpret(ip_list, a_answer("127.0.0.10", "127.0.0.2"))
    assert both.status is ListingStatus.LISTED
    assert both.severity == "block"
    assert set(both.meanings) == {"fake spam source", "fake dynamic range"}
    assert interpret(ip_list, a_answer("127.0.0.11")).severity == "policy"
    allow = interpret(ip_list, a_answer("127.0.0.20"))
    assert (allow.status, allow.severity) == (ListingStatus.LISTED, "allow")


def test_interpret_undocumented_codes(tmp_path: Path) -> None:
    documented = interpret(fake(tmp_path, "fake-ip"), a_answer("127.0.0.77"))
    assert documented.status is ListingStatus.ERROR  # neither listed nor clean
    assert documented.detail.startswith("undocumented answer 127.0.0.77")
    bare = interpret(fake(tmp_path, "fake-nocodes"), a_answer("127.0.0.77"))
    assert (bare.meanings, bare.severity) == (("return code not documented by the list",), "block")


def test_interpret_bitmask_with_unknown_bit(tmp_path: Path) -> None:
    reading = interpret(fake(tmp_path, "fake-bits"), a_answer("127.0.0.22"))
    assert reading.status is ListingStatus.ERROR  # bit 16 is not documented: not a listing
    assert reading.detail.startswith("undocumented answer 127.0.0.22")
    assert interpret(fake(tmp_path, "fake-bits"), a_answer("127.0.0.6")).meanings == (
        "fake black",
        "fake grey",
    )
    refused = interpret(fake(tmp_path, "fake-bits"), a_answer("127.0.0.1"))
    assert refused.status is ListingStatus.REFUSED


def test_interpret_answer_outside_loopback_is_an_error() -> None:
    reading = interpret(packaged("spamhaus-zen"), a_answer("127.0.0.2", "192.0.2.99"))
    assert reading.status is ListingStatus.ERROR
    assert reading.detail == "wildcard or hijacked answer (A 192.0.2.99 outside 127.0.0.0/8)"


# --- lookups through the lab server (packaged catalog) ----------------------------------------


def test_zen_sbl_listing(lab_dns: LabDNS) -> None:
    server = lab_dns(WORLD)
    result = one(ask(server, packaged("spamhaus-zen"), "192.0.2.1"))
    assert result.status is ListingStatus.LISTED
    assert result.codes == ["127.0.0.2"]
    assert result.meanings == ["SBL: direct spam source, spam operation or spam service"]
    assert result.severity == "block"
    assert result.removal_url == "https://check.spamhaus.org/"
    assert result.txt == ["Listed in SBL, see https://check.spamhaus.org/sbl/query/SBL1"]
    assert (result.zone, result.subject, result.query) == ("zen.spamhaus.org", "ip", "192.0.2.1")
    assert result.list_id == "spamhaus-zen"
    asked = names_asked(server, "zen.spamhaus.org")
    assert sorted(asked) == [
        "1.0.0.127.zen.spamhaus.org.",
        "1.2.0.192.zen.spamhaus.org.",
        "2.0.0.127.zen.spamhaus.org.",
    ]


@pytest.mark.parametrize(
    ("ip", "meaning", "severity"),
    [
        ("192.0.2.4", "XBL: exploited/infected host (botnet, proxy, malware)", "block"),
        ("192.0.2.10", "PBL: end-user/non-MTA range, entry maintained by the ISP", "policy"),
    ],
)
def test_zen_codes(lab_dns: LabDNS, ip: str, meaning: str, severity: str) -> None:
    result = one(ask(lab_dns(WORLD), packaged("spamhaus-zen"), ip))
    assert result.status is ListingStatus.LISTED
    assert (result.meanings, result.severity) == ([meaning], severity)


def test_zen_undocumented_code_is_an_error(lab_dns: LabDNS) -> None:
    result = one(ask(lab_dns(WORLD), packaged("spamhaus-zen"), "192.0.2.50"))
    assert result.status is ListingStatus.ERROR
    assert result.detail.startswith("undocumented answer")


def test_clean_ip_asks_no_txt(lab_dns: LabDNS) -> None:
    server = lab_dns(WORLD)
    result = one(ask(server, packaged("spamhaus-zen"), "192.0.2.200"))
    assert result.status is ListingStatus.CLEAN
    assert result.codes == [] and result.meanings == [] and result.severity == ""
    assert names_asked(server, "zen.spamhaus.org", "TXT") == []


def test_public_resolver_refusal_is_not_a_listing(lab_dns: LabDNS) -> None:
    result = one(ask(lab_dns(WORLD), packaged("spamhaus-zen"), "192.0.2.254"))
    assert result.status is ListingStatus.REFUSED
    assert result.codes == ["127.255.255.254"] and result.meanings == []
    assert "public or open resolver" in result.detail
    assert "Query through your own recursive resolver" in result.remedy
    assert result.detail.startswith("A 127.255.255.254")


def test_error_code_among_listing_codes_makes_the_result_refused(lab_dns: LabDNS) -> None:
    result = one(ask(lab_dns(WORLD), packaged("spamhaus-zen"), "192.0.2.99"))
    assert result.status is ListingStatus.REFUSED
    assert result.codes == ["127.0.0.2", "127.255.255.254"]


def test_list_without_codes_reports_block(lab_dns: LabDNS) -> None:
    result = one(ask(lab_dns(WORLD), packaged("cbl"), "192.0.2.1"))
    assert result.status is ListingStatus.LISTED
    assert (result.meanings, result.severity) == (
        ["return code not documented by the list"],
        "block",
    )


def test_answer_outside_loopback(lab_dns: LabDNS) -> None:
    result = one(ask(lab_dns(WORLD), packaged("spamhaus-zen"), "192.0.2.66"))
    assert result.status is ListingStatus.ERROR
    assert result.detail == "wildcard or hijacked answer (A 10.0.0.1 outside 127.0.0.0/8)"


def test_ipv6_nibble_query_name(lab_dns: LabDNS) -> None:
    server = lab_dns(WORLD)
    result = one(ask(server, packaged("spamhaus-zen"), str(V6_IP)))
    assert result.status is ListingStatus.LISTED
    assert result.meanings == ["SBL CSS: snowshoe spam source detected by automation"]
    assert f"{V6_NIBBLES}.zen.spamhaus.org." in names_asked(server, "zen.spamhaus.org")
    assert ask(server, packaged("spamcop"), str(V6_IP)) == []  # IPv4-only list: no result


def test_subjects_that_do_not_apply_give_no_result(lab_dns: LabDNS) -> None:
    server = lab_dns(WORLD)
    assert ask(server, packaged("spamhaus-zen"), domain="spammy.example") == []
    assert ask(server, packaged("spamhaus-dbl"), ip="192.0.2.1") == []
    assert list(server.log) == []


def test_dbl_domain_listing(lab_dns: LabDNS) -> None:
    server = lab_dns(WORLD)
    result = one(ask(server, packaged("spamhaus-dbl"), "192.0.2.1", domain="Spammy.Example"))
    assert (result.subject, result.query) == ("domain", "spammy.example")
    assert result.status is ListingStatus.LISTED
    assert result.meanings == ["DBL: low-reputation (spam) domain"]
    assert result.severity == "block"
    assert "invalid.dbl.spamhaus.org." in names_asked(server, "dbl.spamhaus.org")


def test_dbl_ip_query_code_is_an_error(lab_dns: LabDNS) -> None:
    result = one(ask(lab_dns(WORLD), packaged("spamhaus-dbl"), domain="wrong.example"))
    assert result.status is ListingStatus.ERROR
    assert "IP address queried against a domain-only list" in result.detail
    assert result.remedy.startswith("Query DBL with domain names only")


def test_uribl_bitmask_two_meanings(lab_dns: LabDNS) -> None:
    result = one(ask(lab_dns(WORLD), packaged("uribl-multi"), domain="greyblack.example"))
    assert result.status is ListingStatus.LISTED
    assert result.meanings == [
        "black: domains used by spammers (goal: zero false positives)",
        "grey: bulk/opt-out senders, may cause false positives",
    ]
    assert result.severity == "block"


def test_surbl_bitmask(lab_dns: LabDNS) -> None:
    result = one(ask(lab_dns(WORLD), packaged("surbl-multi"), domain="phish.example"))
    assert result.meanings == ["PH: phishing", "ABUSE: spam/abuse sites"]


def test_uribl_refusal_keeps_its_txt(lab_dns: LabDNS) -> None:
    result = one(ask(lab_dns(WORLD), packaged("uribl-multi"), domain="refused.example"))
    assert result.status is ListingStatus.REFUSED
    assert result.txt == ["127.0.0.53 is refused, see https://uribl.com/refused.shtml"]
    assert "own recursive resolver" in result.remedy


def test_wildcard_list_lists_everything(lab_dns: LabDNS) -> None:
    server = lab_dns("*.bl.spamcop.net A 127.0.0.2")
    result = one(ask(server, packaged("spamcop"), "192.0.2.1"))
    assert result.status is ListingStatus.ERROR
    assert result.detail == (
        "lists everything: the RFC 5782 negative test point 127.0.0.1 is listed"
        " — dead or wildcarded list"
    )
    assert result.meanings == [] and result.severity == ""
    assert result.detail.startswith(LISTS_EVERYTHING)


def test_retired_squatted_list_is_never_listed(lab_dns: LabDNS, tmp_path: Path) -> None:
    wildcard = one(ask(lab_dns("*.dnsbl.ahbl.org A 127.0.0.2"), packaged("ahbl"), "192.0.2.1"))
    assert wildcard.status is ListingStatus.ERROR
    assert wildcard.detail.startswith(LISTS_EVERYTHING)
    server = lab_dns("1.2.0.192.retired.fake.test A 127.0.0.2")
    result = one(ask(server, fake(tmp_path, "fake-retired"), "192.0.2.1"))
    assert result.status is ListingStatus.ERROR
    assert result.detail.startswith("retired list since 2020-01-01: shut down")


def test_negative_test_point_is_shared_across_lookups(lab_dns: LabDNS) -> None:
    server = lab_dns(WORLD)
    zen = packaged("spamhaus-zen")
    resolver = resolver_for(server)

    async def both() -> list[list[BlocklistResult]]:
        ips = (SBL_IP, ipaddress.ip_address("192.0.2.4"))
        return list(await asyncio.gather(*(lookup(resolver, zen, ip, None, {}) for ip in ips)))

    statuses = [one(r).status for r in run(both())]
    assert statuses == [ListingStatus.LISTED, ListingStatus.LISTED]
    assert names_asked(server, "1.0.0.127.zen.spamhaus.org") == ["1.0.0.127.zen.spamhaus.org."]


def test_timeout_is_an_error(lab_dns: LabDNS) -> None:
    server = lab_dns(LabWorld.from_text(WORLD).drop("*.zen.spamhaus.org"))
    result = one(ask(server, packaged("spamhaus-zen"), "192.0.2.1", timeout=0.3))
    assert result.status is ListingStatus.ERROR
    assert result.detail.startswith("timed out")


def test_listing_is_unverified_when_the_negative_test_times_out(lab_dns: LabDNS) -> None:
    # Without the wildcard guard a "listed" answer may be a list answering for everything.
    server = lab_dns(LabWorld.from_text(WORLD).drop("1.0.0.127.zen.spamhaus.org"))
    result = one(ask(server, packaged("spamhaus-zen"), "192.0.2.1", timeout=0.3))
    assert result.status is ListingStatus.ERROR
    assert result.codes == ["127.0.0.2"]
    assert "negative test point 127.0.0.1 could not be checked" in result.detail


def test_clean_is_unverified_when_the_positive_test_times_out(lab_dns: LabDNS) -> None:
    server = lab_dns(LabWorld.from_text(WORLD).drop("2.0.0.127.zen.spamhaus.org"))
    result = one(ask(server, packaged("spamhaus-zen"), "192.0.2.123", timeout=0.3))
    assert result.status is ListingStatus.ERROR
    assert "may be dead" in result.detail


def test_servfail_is_an_error(lab_dns: LabDNS) -> None:
    server = lab_dns(LabWorld.from_text(WORLD).servfail("1.2.0.192.zen.spamhaus.org"))
    result = one(ask(server, packaged("spamhaus-zen"), "192.0.2.1"))
    assert result.status is ListingStatus.ERROR
    assert result.detail.startswith("SERVFAIL")


def test_refused_rcode(lab_dns: LabDNS) -> None:
    server = lab_dns(LabWorld.from_text(WORLD).refuse("*.zen.spamhaus.org"))
    result = one(ask(server, packaged("spamhaus-zen"), "192.0.2.1"))
    assert result.status is ListingStatus.REFUSED
    assert result.remedy == "add your key via SPAMHAUS_DQS_KEY"


def test_dqs_key_zone_is_used_and_never_reported(lab_dns: LabDNS) -> None:
    server = lab_dns(WORLD)
    env = {"SPAMHAUS_DQS_KEY": "abc"}
    result = one(ask(server, packaged("spamhaus-zen"), "192.0.2.1", env=env))
    assert result.meanings == ["XBL: exploited/infected host (botnet, proxy, malware)"]
    assert "1.2.0.192.abc.zen.dq.spamhaus.net." in names_asked(server, "abc.zen.dq.spamhaus.net")
    assert server.queried("zen.spamhaus.org") == []
    assert result.zone == "zen.spamhaus.org"
    assert "abc" not in repr(result.to_dict())


def test_key_only_list_is_skipped_without_a_key(lab_dns: LabDNS) -> None:
    server = lab_dns(WORLD)
    abusix = packaged("abusix-combined")
    skipped = one(ask(server, abusix, "192.0.2.1"))
    assert skipped.status is ListingStatus.SKIPPED
    assert "ABUSIX_API_KEY" in skipped.detail
    assert list(server.log) == []
    keyed = one(ask(server, abusix, "192.0.2.1", env={"ABUSIX_API_KEY": "key"}))
    assert keyed.status is ListingStatus.LISTED


def test_fake_list_through_the_lab_server(lab_dns: LabDNS, tmp_path: Path) -> None:
    server = lab_dns(
        "1.2.0.192.ip.fake.test A 127.0.0.2\n"
        "1.2.0.192.ip.fake.test A 127.0.0.10\n"
        "1.2.0.192.secret.keyed.fake.test A 127.0.0.20\n"
    )
    ip_list = fake(tmp_path, "fake-ip")
    plain = one(ask(server, ip_list, "192.0.2.1"))
    assert (plain.status, plain.severity) == (ListingStatus.LISTED, "block")
    assert plain.removal_url == "https://fake.test/remove?ip=192.0.2.1"
    keyed = one(ask(server, ip_list, "192.0.2.1", env={"FAKE_KEY": "secret"}))
    assert (keyed.meanings, keyed.severity) == (["fake allowlisted sender"], "allow")


# --- health -----------------------------------------------------------------------------------

HEALTH_WORLD = """
2.0.0.127.zen.spamhaus.org    A 127.0.0.2
dbltest.com.dbl.spamhaus.org  A 127.0.1.2
*.bl.blocklist.de             A 127.0.0.2
*.pbl.spamhaus.org            A 127.255.255.254
"""


@pytest.mark.parametrize(
    ("list_id", "status", "detail"),
    [
        ("spamhaus-zen", "ok", "test point 127.0.0.2 listed, 127.0.0.1 not listed"),
        ("spamhaus-dbl", "ok", "test point dbltest.com listed, invalid not listed"),
        ("sem-black", "dead", "positive test point 127.0.0.2 is not listed"),
        ("blocklist-de", "lists_everything", "negative test point 127.0.0.1 is listed"),
        ("s5h", "drops_queries", "timed out"),
        ("spamhaus-pbl", "refuses", "public or open resolver"),
        ("abusix-combined", "refuses", "REFUSED"),
        ("spamhaus-xbl", "error", "SERVFAIL"),
        ("hostkarma", "untestable", "no RFC 5782 test points"),
        ("spamcop", "untestable", "no positive test point"),
        ("ahbl", "untestable", "retired list since 2015-01-01; negative test point 127.0.0.1"),
    ],
)
def test_health(lab_dns: LabDNS, list_id: str, status: str, detail: str) -> None:
    world = LabWorld.from_text(HEALTH_WORLD).drop("*.all.s5h.net")
    world.refuse("*.combined.mail.abusix.zone").servfail("*.xbl.spamhaus.org")
    resolver = resolver_for(lab_dns(world), timeout=0.4)
    [report] = run(health(resolver, [packaged(list_id)]))
    assert isinstance(report, Health)
    assert (report.zone, report.status) == (packaged(list_id).zone, status), report.detail
    assert detail in report.detail


def test_health_checks_lists_concurrently(lab_dns: LabDNS) -> None:
    resolver = resolver_for(lab_dns(LabWorld.from_text(HEALTH_WORLD).drop("*.all.s5h.net")), 0.4)
    lists = load_catalog().select(["s5h", "spamhaus-zen", "blocklist-de"])
    reports = run(health(resolver, lists))
    assert [r.status for r in reports] == ["drops_queries", "ok", "lists_everything"]


def test_clean_answer_from_an_emptied_list_is_not_believed(lab_dns: LabDNS) -> None:
    # The zone exists but no longer lists its own RFC 5782 test point: "not listed" proves nothing.
    server = lab_dns('1.2.0.192.zen.spamhaus.org TXT "unrelated"')
    result = one(ask(server, packaged("spamhaus-zen"), "192.0.2.7"))
    assert result.status is ListingStatus.ERROR
    assert "looks empty" in result.detail


def test_every_catalog_field_is_declared_once_and_read() -> None:
    from dataclasses import fields

    from reputation.blocklists import loader
    from reputation.blocklists.catalog import Bit, Code, ErrorCode

    derived = {"low", "high"}  # from value
    read_list = {loader._TABLE_ATTRIBUTES.get(k, k) for k in loader._LIST_FIELDS}
    assert read_list == {f.name for f in fields(Blocklist)}
    assert set(loader._CODE_FIELDS) | derived == {f.name for f in fields(Code)}
    assert set(loader._BIT_FIELDS) == {f.name for f in fields(Bit)}
    assert set(loader._ERROR_FIELDS) | derived == {f.name for f in fields(ErrorCode)}
