"""A list that keeps failing is stopped for the run, reported once, and never read as clean."""

from __future__ import annotations

import json
from pathlib import Path

from reputation.audit.breaker import DEFAULT_THRESHOLD, ListsBreaker
from reputation.dns.lab import LabDNSServer, LabWorld
from tests.audit_helpers import AUDITED, audit_cli, lists_world


def test_opens_after_threshold_failures_in_a_row_and_is_announced_once() -> None:
    breaker = ListsBreaker(threshold=3)
    for _ in range(2):
        breaker.record("bl.example", failed=True, detail="timeout")
    breaker.record("bl.example", failed=False)  # an answer resets the count
    for _ in range(2):
        breaker.record("bl.example", failed=True, detail="timeout")
    assert breaker.allows("bl.example") and breaker.newly_opened() == []
    breaker.record("bl.example", failed=True, detail="SERVFAIL")
    assert not breaker.allows("bl.example") and breaker.allows("other.example")
    assert breaker.newly_opened() == [("bl.example", "SERVFAIL")]
    assert breaker.newly_opened() == []  # reported once per run
    assert "failed 3 queries in a row" in breaker.why("bl.example")


def test_a_dead_list_is_stopped_for_the_run_instead_of_stalling_every_target(
    tmp_path: Path,
) -> None:
    """SpamCop drops every question: after a few failures in a row it is no longer asked, the
    run says so once, and its targets read "not verified" on SpamCop — never clean."""
    world = LabWorld.from_text(lists_world(["spamhaus-zen", "spamcop"]))
    world.drop("*.bl.spamcop.net")
    fleet = tmp_path / "fleet.txt"
    fleet.write_text(f"{AUDITED} 81.2.72.0/26\n")
    with LabDNSServer(world) as server:
        done = audit_cli(
            "audit", str(fleet), "--only", "blocklists", "--lists", "spamhaus-zen,spamcop",
            "--nameserver", server.address, "--timeout", "0.3", "--no-rdap", "--concurrency", "4",
            "--db", f"sqlite:///{tmp_path / 'h.db'}", "--format", "jsonl",
        )  # fmt: skip
        asked = {n for n, t, _ in server.queried("bl.spamcop.net") if t == "A"}
    assert done.returncode == 3, done.stderr  # incomplete: not verified, not clean
    warnings = [line for line in done.stderr.splitlines() if "stopped querying" in line]
    assert len(warnings) == 1 and "bl.spamcop.net" in warnings[0]
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(reports) == 64
    spamcop = [b for r in reports for b in r["blocklists"] if b["zone"] == "bl.spamcop.net"]
    assert all(b["status"] == "error" for b in spamcop)
    assert sum("not queried" in b["detail"] for b in spamcop) >= 50
    zen = [b for r in reports for b in r["blocklists"] if b["zone"] == "zen.spamhaus.org"]
    assert all(b["status"] == "clean" for b in zen)  # the other list is still asked
    targets_asked = {name for name in asked if not name.endswith(".0.0.127.bl.spamcop.net.")}
    assert len(targets_asked) <= DEFAULT_THRESHOLD + 4  # threshold + those already in flight
