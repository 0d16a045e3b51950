"""Blocklists inside `reputation check`: listings fail the verdict, refusals never read as listings."""

from __future__ import annotations

import json
from collections.abc import Callable

from reputation.blocklists import load_catalog
from reputation.demo import blocklist_test_points
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.report import ListingStatus
from tests.test_cli import reputation_cli
from tests.worlds import PRECONDITIONS, PRECONDITIONS_ZONES, authenticated

StartServer = Callable[[LabWorld | str], LabDNSServer]

SPAMMER = """
spammer.net NS ns1.spammer.net.
spammer.net MX 10 mail.spammer.net.
mail.spammer.net A 81.2.69.66
66.69.2.81.in-addr.arpa PTR mail.spammer.net.
66.69.2.81.zen.spamhaus.org A 127.0.0.2
66.69.2.81.zen.spamhaus.org TXT "https://check.spamhaus.org/sbl/query/SBL123"
66.69.2.81.bl.spamcop.net A 127.0.0.2
spammer.net.dbl.spamhaus.org A 127.0.1.2
""" + authenticated("spammer.net")


def check_json(
    server: LabDNSServer, domain: str, ip: str, helo: str, *extra: str
) -> tuple[int, dict]:
    done = reputation_cli(
        "check", domain, ip, "--helo", helo, "--nameserver", server.address,
        "--no-rdap", "--format", "json", "--timeout", "1", *extra,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


def by_zone(report: dict, zone: str) -> dict:
    return next(
        b
        for b in report["blocklists"]
        if b["zone"] == zone
        and b["query"] in (report["target"]["ip"], report["target"]["domain_ascii"])
    )


def test_sbl_and_spamcop_listing_fails_with_meanings_and_removal(lab_dns: StartServer) -> None:
    server = lab_dns(PRECONDITIONS + SPAMMER)
    code, report = check_json(server, "spammer.net", "81.2.69.66", "mail.spammer.net")
    assert code == 2 and report["verdict"] == "fail"
    zen = by_zone(report, "zen.spamhaus.org")
    assert zen["status"] == "listed" and zen["codes"] == ["127.0.0.2"]
    assert "SBL" in zen["meanings"][0]
    assert zen["removal_url"].startswith("https://")
    assert zen["txt"] == ["https://check.spamhaus.org/sbl/query/SBL123"]
    spamcop = by_zone(report, "bl.spamcop.net")
    assert spamcop["status"] == "listed"
    assert spamcop["removal_url"] == "https://www.spamcop.net/bl.shtml?81.2.69.66"
    dbl = next(b for b in report["blocklists"] if b["zone"] == "dbl.spamhaus.org")
    assert (dbl["subject"], dbl["query"], dbl["status"]) == ("domain", "spammer.net", "listed")
    # the checks themselves are clean: the verdict fails on the listings alone
    assert {c["status"] for c in report["checks"]} == {"pass"}
    yahoo = next(p for p in report["providers"] if p["id"] == "yahoo")
    assert yahoo["verdict"] == "reject"
    assert any("Spamhaus" in r["expected_reply"] for r in yahoo["reasons"])


def test_spamhaus_refusing_this_resolver_is_refused_not_listed(lab_dns: StartServer) -> None:
    # What a public resolver gets from Spamhaus: 127.255.255.254 for every question.
    others = [b for b in load_catalog().default() if not b.zone.endswith("spamhaus.org")]
    world = LabWorld.from_text(PRECONDITIONS_ZONES + blocklist_test_points(others))
    world.load("*.zen.spamhaus.org A 127.255.255.254\n*.dbl.spamhaus.org A 127.255.255.254")
    server = lab_dns(world)
    code, report = check_json(server, "clean.net", "81.2.69.142", "mail.clean.net")
    zen = by_zone(report, "zen.spamhaus.org")
    assert zen["status"] == "refused"
    assert "resolver" in zen["remedy"]
    assert code == 3 and report["verdict"] == "incomplete"
    assert any("zen.spamhaus.org" in line for line in report["unverified"])
    assert not any(b["status"] == "listed" for b in report["blocklists"])
    yahoo = next(p for p in report["providers"] if p["id"] == "yahoo")
    assert yahoo["verdict"] == "unknown"


def test_retired_list_that_lists_the_world_does_not_alarm(lab_dns: StartServer) -> None:
    world = LabWorld.from_text(
        PRECONDITIONS + "*.dnsbl.sorbs.net A 127.0.0.2\n*.dnsbl.njabl.org A 127.0.0.2"
    )
    server = lab_dns(world)
    code, report = check_json(server, "clean.net", "81.2.69.142", "mail.clean.net")
    assert (code, report["verdict"]) == (0, "pass")
    assert server.queried("sorbs.net") == [] and server.queried("njabl.org") == []


def test_spamhaus_unreachable_makes_yahoo_unknown(lab_dns: StartServer) -> None:
    world = LabWorld.from_text(PRECONDITIONS).drop("*.zen.spamhaus.org")
    server = lab_dns(world)
    code, report = check_json(server, "clean.net", "81.2.69.142", "mail.clean.net")
    assert code == 3
    assert by_zone(report, "zen.spamhaus.org")["status"] == "error"
    assert next(p for p in report["providers"] if p["id"] == "yahoo")["verdict"] == "unknown"


def test_pbl_listing_fails_static_ip_and_outlook_rejects(lab_dns: StartServer) -> None:
    server = lab_dns(PRECONDITIONS + "142.69.2.81.zen.spamhaus.org A 127.0.0.10\n")
    code, report = check_json(server, "clean.net", "81.2.69.142", "mail.clean.net")
    assert code == 2
    static = next(c for c in report["checks"] if c["id"] == "static_ip")
    assert static["status"] == "fail"
    assert any(f["code"] == "ip_policy_listed" for f in static["findings"])
    outlook = next(p for p in report["providers"] if p["id"] == "outlook")
    assert outlook["verdict"] == "reject"


def test_lists_health_names_the_list_that_lists_everything_and_the_one_that_drops(
    lab_dns: StartServer,
) -> None:
    world = LabWorld.from_text(PRECONDITIONS + "*.psbl.surriel.com A 127.0.0.2\n").drop(
        "*.bl.spamcop.net"
    )
    server = lab_dns(world)
    done = reputation_cli(
        "lists", "--health", "--nameserver", server.address, "--timeout", "0.5", "--format", "json"
    )
    health = {h["zone"]: h for h in json.loads(done.stdout)}
    assert done.returncode == 1
    assert health["psbl.surriel.com"]["status"] == "lists_everything"
    assert health["bl.spamcop.net"]["status"] == "drops_queries"
    assert health["zen.spamhaus.org"]["status"] == "ok"


def test_lists_json_describes_every_list() -> None:
    done = reputation_cli("lists", "--format", "json")
    catalog = json.loads(done.stdout)
    assert len(catalog) >= 30
    for entry in catalog:
        assert {"zone", "name", "subject", "status", "default"} <= set(entry)
    sorbs = next(e for e in catalog if e["zone"] == "dnsbl.sorbs.net")
    assert sorbs["status"] == "retired" and sorbs["default"] is False


def test_listing_status_values_are_the_documented_ones() -> None:
    assert {s.value for s in ListingStatus} == {"listed", "clean", "refused", "error", "skipped"}


def test_subdomain_sender_is_looked_up_by_its_registrable_domain_too(lab_dns: StartServer) -> None:
    server = lab_dns(
        PRECONDITIONS
        + SPAMMER
        + authenticated("news.spammer.net")
        + "news.spammer.net MX 10 mail.spammer.net.\n"
    )
    code, report = check_json(
        server, "news.spammer.net", "81.2.69.66", "mail.spammer.net", "--lists", "dbl.spamhaus.org"
    )
    dbl = [b for b in report["blocklists"] if b["zone"] == "dbl.spamhaus.org"]
    assert {(b["query"], b["status"]) for b in dbl} == {
        ("news.spammer.net", "clean"),
        ("spammer.net", "listed"),
    }
    assert code == 2
