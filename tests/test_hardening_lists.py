"""Blocklist answers read strictly: a refusal, an error or an undocumented code is no listing."""

from __future__ import annotations

import pytest

import reputation
from reputation.dns.lab import LabWorld
from reputation.report import ListingStatus
from tests.worlds import PRECONDITIONS


def _listing(lab_dns, list_id: str, name: str, value: str, query: str = "81.2.69.142"):
    world = LabWorld.from_text(PRECONDITIONS).load(f"{name} A {value}")
    report = reputation.check(
        "clean.net", "81.2.69.142", "mail.clean.net", nameservers=[lab_dns(world).address], timeout=1,
        rdap=False, lists=[list_id],
    )  # fmt: skip
    return next(b for b in report.blocklists if b.query == query), report


@pytest.mark.parametrize(
    ("list_id", "zone"), [("uribl-multi", "multi.uribl.com"), ("surbl-multi", "multi.surbl.org")]
)
def test_a_uri_list_error_answer_is_not_a_listing(lab_dns, list_id: str, zone: str) -> None:
    result, report = _listing(
        lab_dns, list_id, f"clean.net.{zone}", "127.255.255.254", query="clean.net"
    )
    assert result.status is ListingStatus.ERROR
    assert "undocumented answer 127.255.255.254" in result.detail
    assert str(report.verdict) == "incomplete"


def test_an_undocumented_code_on_an_exact_list_is_error_not_listed(lab_dns) -> None:
    result, report = _listing(lab_dns, "spamcop", "142.69.2.81.bl.spamcop.net", "127.0.0.1")
    assert result.status is ListingStatus.ERROR
    assert "undocumented answer 127.0.0.1" in result.detail
    assert str(report.verdict) == "incomplete"


def test_a_documented_code_is_still_a_listing(lab_dns) -> None:
    result, report = _listing(lab_dns, "spamcop", "142.69.2.81.bl.spamcop.net", "127.0.0.2")
    assert result.status is ListingStatus.LISTED
    assert str(report.verdict) == "fail"
