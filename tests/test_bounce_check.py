"""`reputation bounce --check` against a lab DNS world: does the bounce's cause still hold?"""

from __future__ import annotations

import json
from pathlib import Path

from reputation.blocklists import load_catalog
from tests import bounce_samples as samples
from tests.test_cli import reputation_cli
from tests.worlds import PRECONDITIONS

SORBS = "554 5.7.1 Rejected 81.2.69.142 found in dnsbl.sorbs.net"


def run_check(lab_dns, tmp_path: Path, zones: str, diagnostic: str, *extra: str) -> dict:
    server = lab_dns(zones)
    path = tmp_path / "bounce.eml"
    path.write_bytes(samples.postfix_dsn(diagnostic))
    done = reputation_cli(
        "bounce", str(path), "--check", "--nameserver", server.address, "--no-rdap",
        "--timeout", "2", "-f", "json", *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    return result["recipients"][0]


def test_sorbs_bounce_says_retired_and_not_listed_on_the_lists_that_work(lab_dns, tmp_path) -> None:
    failure = run_check(lab_dns, tmp_path, PRECONDITIONS, SORBS)
    assert failure["blocklist"]["zone"] == "dnsbl.sorbs.net"
    assert failure["blocklist"]["status"] == "retired"
    assert failure["still_holds"] is False
    assert "retired" in failure["finding"] and "not listed" in failure["finding"]


def test_sorbs_bounce_when_a_working_list_does_list_the_ip(lab_dns, tmp_path) -> None:
    zen = load_catalog().by_id("spamhaus-zen")
    listed = PRECONDITIONS + f"\n142.69.2.81.{zen.zone} A 127.0.0.2\n"
    failure = run_check(lab_dns, tmp_path, listed, SORBS)
    assert failure["still_holds"] is True
    assert "Spamhaus" in failure["finding"]


def test_ptr_bounce_rechecks_helo_ptr_for_the_given_ip(lab_dns, tmp_path) -> None:
    diagnostic = "550 5.7.25 Reverse DNS validation failed"
    fixed = run_check(lab_dns, tmp_path, PRECONDITIONS, diagnostic)
    assert (fixed["reason"], fixed["check"], fixed["still_holds"]) == (
        "requireptr",
        "helo_ptr",
        False,
    )
    # 81.2.69.144 has a PTR that does not resolve back: the cause still holds for it.
    broken = run_check(lab_dns, tmp_path, PRECONDITIONS, diagnostic, "--ip", "81.2.69.144")
    assert broken["still_holds"] is True


def test_a_lookup_that_fails_is_never_a_verdict(lab_dns, tmp_path) -> None:
    from reputation.dns.lab import LabWorld

    world = LabWorld.from_text(PRECONDITIONS)
    world.servfail("142.69.2.81.in-addr.arpa")
    failure = run_check(lab_dns, tmp_path, world, "550 5.7.25 Reverse DNS validation failed")
    assert failure["still_holds"] is None


def test_a_provider_rule_is_rechecked_through_its_own_conditions(lab_dns, tmp_path) -> None:
    gmail_no_ptr = (
        "550 5.7.25 This message was blocked because the sending IP address doesn't have a PTR "
        "record, or the forwarding DNS entry doesn't reference the sending IP address. Gmail "
        "requires that sending IP addresses have a PTR record."
    )
    server = lab_dns(PRECONDITIONS)
    path = tmp_path / "gmail.eml"
    path.write_bytes(samples.postfix_dsn(gmail_no_ptr, recipient="someone@gmail.com"))
    done = reputation_cli(
        "bounce", str(path), "--check", "--ip", "81.2.69.144", "--nameserver", server.address,
        "--no-rdap", "--timeout", "2", "-f", "json",
    )  # fmt: skip
    [result] = json.loads(done.stdout)
    failure = result["recipients"][0]
    # no-ptr and no-fcrdns document the same reply: the one that holds is named
    assert (failure["provider"], failure["rule"]) == ("gmail", "no-fcrdns")
    assert failure["still_holds"] is True and "helo_ptr" in failure["finding"]


def test_the_receivers_own_list_cannot_be_cleared_by_public_lists(lab_dns, tmp_path) -> None:
    sina = "554 Please visit http://antispam.sina.com.cn/denyip.php?IP=81.2.69.142 (#5.7.1)"
    failure = run_check(lab_dns, tmp_path, PRECONDITIONS, sina)
    assert failure["blocklist"]["status"] == "unknown"
    assert failure["blocklist"]["removal_url"].endswith("denyip.php?IP=81.2.69.142")
    assert failure["still_holds"] is None


def test_a_sender_domain_that_cannot_be_checked_never_stops_the_batch(lab_dns, tmp_path) -> None:
    server = lab_dns(PRECONDITIONS)
    bad = samples.postfix_dsn(SORBS).replace(
        b"X-Postfix-Sender: rfc822; news@clean.net", b"X-Postfix-Sender: rfc822; news@-bad-.example"
    )
    (tmp_path / "a.eml").write_bytes(bad)
    (tmp_path / "b.eml").write_bytes(samples.postfix_dsn(SORBS))
    done = reputation_cli(
        "bounce", str(tmp_path), "--check", "--nameserver", server.address, "--no-rdap",
        "--timeout", "2", "-f", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, second = json.loads(done.stdout)
    assert first["recipients"][0]["still_holds"] is None
    assert "not checked" in first["recipients"][0]["finding"]
    assert second["recipients"][0]["still_holds"] is False


def test_sina_spam_mail_bounce_rechecks_what_the_origin_faq_advises(lab_dns, tmp_path) -> None:
    server = lab_dns(PRECONDITIONS)
    path = tmp_path / "sina.eml"
    path.write_bytes(
        samples.eyoumail("553 Spam Mail http://mail.sina.com.cn/FAQ.html", "x@sina.com")
    )

    def check(ip: str) -> dict:
        done = reputation_cli(
            "bounce", str(path), "--check", "--ip", ip, "--nameserver", server.address,
            "--no-rdap", "--timeout", "2", "-f", "json",
        )  # fmt: skip
        return json.loads(done.stdout)[0]["recipients"][0]

    clean = check("81.2.69.142")
    assert (clean["provider"], clean["check"], clean["still_holds"]) == (
        "sina",
        "legit_domain",
        False,
    )
    assert "static_ip" in clean["finding"] and "helo_ptr" in clean["finding"]
    dynamic = check("81.2.69.146")  # its PTR reads as a dynamic address
    assert dynamic["still_holds"] is True and "static_ip" in dynamic["finding"]
