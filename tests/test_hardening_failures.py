"""A finding that depends on a failed lookup is `error`, unless the other answers decide it."""

from __future__ import annotations

import pytest

import reputation
from reputation.dns.lab import LabWorld
from reputation.report import Status, Verdict
from tests.worlds import PRECONDITIONS


def _mx_world(a: str, aaaa: str) -> LabWorld:
    world = LabWorld.from_text(PRECONDITIONS)
    world.load(
        "halfmx.net NS ns1.halfmx.net.\nhalfmx.net MX 10 mx.halfmx.net.\n"
        f"mx.halfmx.net A {a}\nmx.halfmx.net AAAA {aaaa}"
    )
    world.add_txt("halfmx.net", "v=spf1 ip4:81.2.69.142 -all")
    world.add_txt("_dmarc.halfmx.net", "v=DMARC1; p=none")
    return world


@pytest.mark.parametrize("failure", ["drop", "servfail"])
@pytest.mark.parametrize(
    ("private", "failing"), [("A", "AAAA"), ("AAAA", "A")], ids=["aaaa-fails", "a-fails"]
)
def test_a_private_address_and_a_failed_lookup_is_error_not_fail(
    lab_dns, failure: str, private: str, failing: str
) -> None:
    world = _mx_world("10.0.0.25", "fd00::25")
    getattr(world, failure)("mx.halfmx.net", rdtype=failing)
    report = reputation.check(
        "halfmx.net", "81.2.69.142", "mail.clean.net", nameservers=[lab_dns(world).address],
        timeout=0.5, rdap=False,
    )  # fmt: skip
    mx = report.check("mx")
    assert mx.status is Status.ERROR, [f.message for f in mx.findings]
    assert report.verdict is Verdict.INCOMPLETE
    assert any(line.startswith("mx:") for line in report.unverified)


def test_a_public_address_decides_even_when_the_other_lookup_fails(lab_dns) -> None:
    world = _mx_world("81.2.69.142", "fd00::25")
    world.drop("mx.halfmx.net", rdtype="AAAA")
    report = reputation.check(
        "halfmx.net", "81.2.69.142", "mail.clean.net", nameservers=[lab_dns(world).address],
        timeout=0.5, rdap=False,
    )  # fmt: skip
    assert report.check("mx").has("mx_host_ok")


def test_private_addresses_on_both_answers_still_fail(lab_dns) -> None:
    report = reputation.check(
        "halfmx.net", "81.2.69.142", "mail.clean.net",
        nameservers=[lab_dns(_mx_world("10.0.0.25", "fd00::25")).address], timeout=0.5,
        rdap=False,
    )  # fmt: skip
    assert report.check("mx").status is Status.FAIL
