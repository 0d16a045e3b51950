"""What real DNS does to a checker: referrals, hang-ups, slow chains, half-failed lookups."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import reputation
from reputation.dns.lab import LabDNSServer, LabWorld
from reputation.dns.resolver import Outcome, Resolver
from reputation.report import Status
from tests.test_cli import reputation_cli
from tests.worlds import PRECONDITIONS, authenticated

StartServer = Callable[[LabWorld | str], LabDNSServer]


def check(server: LabDNSServer, domain: str, ip: str, helo: str | None = None, timeout: float = 2):
    return reputation.check(
        domain, ip, helo, nameservers=[server.address], timeout=timeout, rdap=False
    )


def test_a_referral_is_not_read_as_no_records(lab_dns: StartServer) -> None:
    # A non-recursive server answers with a referral: the records may well exist.
    world = LabWorld.from_text(PRECONDITIONS)
    world.misbehave("refer", "142.69.2.81.in-addr.arpa")
    server = lab_dns(world)
    answer = asyncio.run(
        Resolver([("127.0.0.1", server.port)], timeout=1).query("142.69.2.81.in-addr.arpa", "PTR")
    )
    assert answer.outcome is Outcome.ERROR and "referral" in answer.detail
    report = check(server, "clean.net", "81.2.69.142", "mail.clean.net")
    assert report.check("helo_ptr").status is Status.ERROR
    assert "ptr_missing" not in {f.code for f in report.check("helo_ptr").findings}


def test_a_server_that_hangs_up_over_tcp_costs_one_answer_not_the_report(
    lab_dns: StartServer,
) -> None:
    world = LabWorld.from_text(PRECONDITIONS)
    world.misbehave("truncate", "clean.net", rdtype="TXT")
    server = lab_dns(world)
    done = reputation_cli(
        "check",
        "clean.net",
        "81.2.69.142",
        "--helo",
        "mail.clean.net",
        "--nameserver",
        server.address,
        "--no-rdap",
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 3
    assert "spf" in done.stdout and "Could not verify" in done.stdout


def test_slow_chains_are_cut_by_the_deadline_and_said_so(lab_dns: StartServer) -> None:
    chain = "".join(
        f'l{i}.slow.net TXT "v=spf1 include:l{i + 1}.slow.net -all"\n' for i in range(8)
    )
    world = LabWorld.from_text(
        PRECONDITIONS
        + authenticated("slow.net", spf="v=spf1 include:l0.slow.net -all")
        + chain
        + "slow.net NS ns1.slow.net.\nslow.net MX 10 mail.clean.net.\n"
    ).slow(0.4, "*.slow.net")
    server = lab_dns(world)
    started = time.monotonic()
    report = check(server, "slow.net", "81.2.69.142", "mail.clean.net", timeout=1)
    elapsed = time.monotonic() - started
    assert elapsed < 3 * 1
    assert report.check("spf").status is Status.ERROR
    assert "not completed within" in report.check("spf").summary
    assert str(report.verdict) == "incomplete"


def test_an_undecided_helo_leaves_only_helo_rules_unknown(lab_dns: StartServer) -> None:
    world = LabWorld.from_text(PRECONDITIONS + "helo.clean.net A 81.2.69.142\n").drop(
        "helo.clean.net"
    )
    report = check(lab_dns(world), "clean.net", "81.2.69.142", "helo.clean.net", timeout=0.5)
    verdicts = {p.id: p for p in report.providers}
    assert verdicts["gmail"].verdict == "accept"  # its PTR rules were decided: FCrDNS holds
    assert verdicts["sina"].verdict == "unknown"  # it has HELO rules
    assert any("helo_unverified" in why for why in verdicts["sina"].unknown_because)


def test_spf_sees_the_same_assumed_helo_the_report_states(lab_dns: StartServer) -> None:
    world = LabWorld.from_text(
        PRECONDITIONS
        + authenticated("h.net", spf="v=spf1 exists:%{h}.allow.h.net -all")
        + "h.net NS ns1.h.net.\nh.net MX 10 mail.h.net.\nmail.h.net A 81.2.69.77\n"
        + "77.69.2.81.in-addr.arpa PTR mail.h.net.\nmail.h.net.allow.h.net A 127.0.0.2\n"
    )
    report = check(lab_dns(world), "h.net", "81.2.69.77")
    assert report.target.helo == "mail.h.net" and report.target.helo_assumed
    assert report.check("spf").status is Status.PASS


def test_checks_waiting_their_turn_against_a_dead_server_end_incomplete_not_clean() -> None:
    """More checks than may gather at once, every packet dropped: the ones that never got a turn
    say so, and none of them reads as clean or listed."""
    import socket

    from reputation.session import CHECKS_AT_ONCE

    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # bound and never read: every query is dropped
    address = f"127.0.0.1:{silent.getsockname()[1]}"

    async def many() -> list[reputation.Report]:
        return await asyncio.gather(
            *(
                reputation.check_async(
                    f"sender{i}.net",
                    f"81.2.69.{i + 1}",
                    nameservers=[address],
                    timeout=0.2,
                    rdap=False,
                    checks=["helo_ptr", "blocklists"],
                )
                for i in range(CHECKS_AT_ONCE + 16)
            )
        )

    try:
        reports = asyncio.run(many())
    finally:
        silent.close()
    assert all(str(r.verdict) == "incomplete" for r in reports)
    assert not any(b.status in ("clean", "listed") for r in reports for b in r.blocklists)
    waited = [r for r in reports if r.checks[2].summary.startswith("not started within")]
    assert len(waited) == 16
    assert all(b.detail.startswith("not started within") for r in waited for b in r.blocklists)
