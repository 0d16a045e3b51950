"""`reputation audit` and `reputation history` end to end: the lab DNS server, a real
database (SQLite, and PostgreSQL where a server can start), a real webhook receiver."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reputation.dns.lab import LabDNSServer, LabWorld
from tests.audit_helpers import (
    AUDITED,
    Receiver,
    audit_cli,
    cli_env,
    lists_world,
    reversed_ip,
)

SMALL_LISTS = "spamhaus-zen,spamcop"
FLEET_SIZE = 1024
FLEET_LISTS = "spamhaus-zen,spamcop,spamhaus-dbl"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return request.getfixturevalue("postgresql_db")


def targets_file(tmp_path: Path, text: str, name: str = "fleet.txt") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def audit(server: LabDNSServer, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return audit_cli(
        "audit", *args, "--only", "blocklists", "--nameserver", server.address,
        "--timeout", "5", "--no-rdap", "--db", db,
    )  # fmt: skip


def test_a_fleet_audit_is_stored_and_a_new_listing_is_reported_once(
    db: str, tmp_path: Path
) -> None:
    """1,024 IPs against a few lists; then one IP gets listed, and only that is news.

    (Few lists keep the test quick: the pure-Python lab server answers ~1,000 questions a
    second. scripts/bench_audit runs every default IPv4 list against NSD.)"""
    fleet = targets_file(tmp_path, f"{AUDITED} 81.2.68.0/22\n")
    listed_ip = "81.2.69.77"
    world = LabWorld.from_text(lists_world(FLEET_LISTS.split(",")))
    with LabDNSServer(world) as server, Receiver() as receiver:
        first = audit(
            server, db, fleet, "--notify", receiver.url, "--format", "csv", "--lists", FLEET_LISTS
        )
        assert first.returncode == 0, first.stderr
        rows = first.stdout.splitlines()
        assert len(rows) == FLEET_SIZE + 1 and receiver.bodies == []  # first run: a baseline

        server.world.add(f"{reversed_ip(listed_ip)}.zen.spamhaus.org", "A", "127.0.0.2")
        second = audit(server, db, fleet, "--notify", receiver.url, "--lists", FLEET_LISTS)
        assert second.returncode == 2, second.stderr
        # Exactly that change: one target, one new listing; the provider verdicts that follow
        # from it (a Spamhaus listing makes Yahoo reject) are that target's too.
        changes = [line.split() for line in second.stdout.splitlines() if AUDITED in line]
        assert {c[1] for c in changes} == {listed_ip}
        assert [c[3] for c in changes if c[2] == "listed"] == ["zen.spamhaus.org"]
        assert {c[2] for c in changes} <= {"listed", "provider"}
        assert re.search(r"listed on zen.spamhaus.org\s+1\b", second.stdout)

        assert len(receiver.bodies) == 1
        body = receiver.bodies[0]
        assert body["counts"]["listed"] == 1 and set(body["counts"]) <= {"listed", "provider"}
        assert {c["ip"] for c in body["changes"]} == {listed_ip}
        assert body["changes"][0]["subject"] == "zen.spamhaus.org"
        assert listed_ip in body["text"] and body["run"]["targets"] == FLEET_SIZE

    shown = audit_cli("history", "--db", db)
    assert shown.returncode == 0, shown.stderr
    assert re.search(rf"{listed_ip}\s+listed\s+zen.spamhaus.org\s+clean -> listed", shown.stdout)
    assert re.search(rf"finished\s+1/1\s+\S+\s+{FLEET_SIZE}\s+{len(changes)}\b", shown.stdout)
    lines = audit_cli("history", "--db", db, "--target", listed_ip, "--format", "jsonl").stdout
    kinds = [json.loads(line)["kind"] for line in lines.splitlines()]
    assert kinds.count("listed") == 1 and set(kinds) <= {"listed", "provider"}
    assert audit_cli("history", "--db", db, "--target", "81.2.68.1").stdout.count("listed") == 0


def test_a_delisting_and_targets_added_and_gone(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    fleet = targets_file(tmp_path, f"{AUDITED} 81.2.69.1\n{AUDITED} 81.2.69.2\n")
    world = LabWorld.from_text(lists_world(["spamhaus-zen", "spamcop"]))
    world.add("1.69.2.81.bl.spamcop.net", "A", "127.0.0.2")
    with LabDNSServer(world) as server:
        audit(server, db, fleet, "--lists", SMALL_LISTS)
        world.records.pop(next(n for n in world.records if str(n).startswith("1.69.2.81.bl")))
        Path(fleet).write_text(f"{AUDITED} 81.2.69.1\n{AUDITED} 81.2.69.3\n")
        done = audit(server, db, fleet, "--lists", SMALL_LISTS, "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert {r["target"]["ip"] for r in reports} == {"81.2.69.1", "81.2.69.3"}
    assert all(r["schema"] == "reputation/report/v1" for r in reports)
    kinds = json_history(db)
    assert kinds == {("81.2.69.1", "delisted"), ("81.2.69.3", "added"), ("81.2.69.2", "gone")}


def json_history(db: str) -> set[tuple[str, str]]:
    lines = audit_cli("history", "--db", db, "--format", "jsonl").stdout.splitlines()
    return {(json.loads(line)["ip"], json.loads(line)["kind"]) for line in lines}


def test_a_failed_notification_is_kept_and_sent_with_the_next_run(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    fleet = targets_file(tmp_path, f"{AUDITED} 81.2.69.1\n")
    world = LabWorld.from_text(lists_world(["spamhaus-zen", "spamcop"]))
    with LabDNSServer(world) as server, Receiver(failing=True) as receiver:
        args = ("--lists", SMALL_LISTS, "--notify", receiver.url, "--notify-retries", "1")
        audit(server, db, fleet, *args)
        world.add("1.69.2.81.zen.spamhaus.org", "A", "127.0.0.2")
        failed = audit(server, db, fleet, *args)
        assert receiver.attempts == 2 and receiver.bodies == []  # tried twice, then kept
        assert "not delivered after 2 tries (HTTP 503); kept" in failed.stderr
        receiver.failing = False
        audit(server, db, fleet, *args)  # nothing new changed: only the kept one is sent
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["changes"][0]["kind"] == "listed"
    assert "81.2.69.1" in receiver.bodies[0]["text"]


def test_killed_halfway_then_resumed_checks_each_target_once(tmp_path: Path) -> None:
    db_path = tmp_path / "h.db"
    db = f"sqlite:///{db_path}"
    count = 240
    fleet = targets_file(tmp_path, f"{AUDITED} 81.2.70.0/24\n")
    world = LabWorld.from_text(lists_world(["spamhaus-zen", "spamcop"]))
    world.slow(0.05, "*.zen.spamhaus.org")
    args = ["audit", fleet, "--only", "blocklists", "--lists", SMALL_LISTS, "--no-rdap",
            "--db", db, "--format", "jsonl", "--concurrency", "4", "--timeout", "5"]  # fmt: skip
    with LabDNSServer(world) as server:
        args += ["--nameserver", server.address]
        process = subprocess.Popen(
            [sys.executable, "-m", "reputation", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
        )  # fmt: skip
        assert process.stdout is not None
        before = []
        while len(before) < 40:
            line = process.stdout.readline()
            assert line, process.communicate()[1]  # the audit ended or failed early
            before.append(json.loads(line)["target"]["ip"])
        process.send_signal(signal.SIGTERM)
        rest = process.stdout.read()  # not communicate(): it would skip what readline buffered
        err = process.stderr.read()  # type: ignore[union-attr]
        assert process.wait(timeout=60) == 128 + signal.SIGTERM, err
        assert "interrupted" in err and "--resume" in err
        before += [json.loads(line)["target"]["ip"] for line in rest.splitlines()]
        stored = stored_ips(db_path)
        assert set(before) == set(stored) and len(stored) == len(set(stored))
        assert 40 <= len(stored) < 256

        server.log.clear()
        resumed = audit_cli(*args, "--resume")
        assert resumed.returncode == 0, resumed.stderr
        asked = {name for name, rdtype, _ in server.queried("zen.spamhaus.org") if rdtype == "A"}
    stored_after = stored_ips(db_path)
    assert len(stored_after) == 256 == len(set(stored_after))  # every target, each once
    assert not any(f"{reversed_ip(ip)}.zen.spamhaus.org." in asked for ip in stored)
    assert len([line for line in resumed.stdout.splitlines()]) == 256  # the whole run's output
    with sqlite3.connect(db_path) as conn:  # each line as stored, the replayed ones included
        assert {row[0] for row in conn.execute("SELECT report FROM results")} == set(
            resumed.stdout.splitlines()
        )
    assert count  # the /24 is 256 targets


def stored_ips(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        return [row[0] for row in conn.execute("SELECT ip FROM results")]


def test_prometheus_and_nagios_from_a_real_run(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    fleet = targets_file(tmp_path, f"{AUDITED} 81.2.69.0/29\n")
    world = LabWorld.from_text(lists_world(["spamhaus-zen", "spamcop"]))
    world.add("3.69.2.81.zen.spamhaus.org", "A", "127.0.0.4")
    with LabDNSServer(world) as server:
        prom = audit(server, db, fleet, "--lists", SMALL_LISTS, "--format", "prometheus")
        nagios = audit(server, db, fleet, "--lists", SMALL_LISTS, "--format", "nagios")
    families = {f.name: f for f in text_string_to_metric_families(prom.stdout)}
    listed = {
        s.labels["zone"]: s.value for s in families["reputation_audit_listed_targets"].samples
    }
    assert listed == {"zen.spamhaus.org": 1, "bl.spamcop.net": 0}
    assert len(families["reputation_audit_target_verdict"].samples) == 8
    assert nagios.returncode == 2
    assert nagios.stdout.startswith(
        "REPUTATION CRITICAL - 1 of 8 targets fail, listed on zen.spamhaus.org (1) |"
    )
    assert len(nagios.stdout.splitlines()) == 1


def test_bad_lines_are_reported_and_the_rest_run(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    fleet = targets_file(tmp_path, f"{AUDITED} 81.2.69.1\nnot-an-ip-line\n{AUDITED} 81.2.69.2\n")
    with LabDNSServer(LabWorld.from_text(lists_world(["spamcop"]))) as server:
        done = audit(server, db, fleet, "--lists", "spamcop", "--format", "csv")
    assert done.returncode == 0
    assert f"{fleet}:2: expected 'domain ip [helo]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stdout.splitlines()) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "blocklistz"], "unknown check 'blocklistz'"),
        (["--shard", "5/4"], "invalid shard '5/4'"),
        (["--notify", "ftp://x"], "invalid notify URL"),
        (["--db", "mysql://x/y"], "invalid database URL"),
    ],
)
def test_bad_options_are_one_line_and_exit_64(
    tmp_path: Path, args: list[str], message: str
) -> None:
    fleet = targets_file(tmp_path, f"{AUDITED} 81.2.69.1\n")
    done = audit_cli("audit", fleet, "--db", f"sqlite:///{tmp_path / 'h.db'}", *args)
    assert done.returncode == 64 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_free_use_limits_are_warned_about_before_the_run(tmp_path: Path) -> None:
    """A /14 is 262,144 addresses: more than Mailspike's 100,000 free queries a day."""
    lines = "".join(f"{AUDITED} 10.{i}.0.0/16\n" for i in range(4))
    fleet = targets_file(tmp_path, lines)
    args = [
        "audit", fleet, "--only", "blocklists", "--lists", "mailspike-bl,spamhaus-zen",
        "--db", f"sqlite:///{tmp_path / 'h.db'}", "--nameserver", "127.0.0.1:9",
    ]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "reputation", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=cli_env(),
    )  # fmt: skip
    assert process.stderr is not None
    first = process.stderr.readline()
    process.send_signal(signal.SIGTERM)
    rest = process.communicate(timeout=60)[1]
    assert "sends about 262,146 queries to bl.mailspike.net" in first
    assert "100,000 a day (https://mailspike.org/usage.html)" in first
    assert "zen.spamhaus.org" not in first + rest  # 262,146 is within Spamhaus' 300,000


def test_shards_cover_the_fleet_once_into_one_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    fleet = targets_file(tmp_path, f"{AUDITED} 81.2.71.0/26\n")
    checked: list[str] = []
    with LabDNSServer(LabWorld.from_text(lists_world(["spamcop"]))) as server:
        for shard in ("1/3", "2/3", "3/3"):
            done = audit(server, db, fleet, "--lists", "spamcop", "--shard", shard, "-f", "csv")
            checked += [row.split(",")[1] for row in done.stdout.splitlines()[1:]]
    assert sorted(checked) == sorted(f"81.2.71.{i}" for i in range(64))  # each once
    runs = audit_cli("history", "--db", db).stdout
    assert all(re.search(rf"finished\s+{k}/3\s", runs) for k in (1, 2, 3))


def test_targets_from_standard_input(tmp_path: Path) -> None:
    with LabDNSServer(LabWorld.from_text(lists_world(["spamcop"]))) as server:
        done = subprocess.run(
            [sys.executable, "-m", "reputation", "audit", "-", "--only", "blocklists",
             "--lists", "spamcop", "--nameserver", server.address, "--no-rdap",
             "--db", f"sqlite:///{tmp_path / 'h.db'}", "--format", "jsonl"],
            input=f"domain,ip\n{AUDITED},81.2.69.1\n{AUDITED},81.2.69.2\n",
            capture_output=True, text=True, env=cli_env(), timeout=60,
        )  # fmt: skip
    assert [json.loads(line)["target"]["ip"] for line in done.stdout.splitlines()] in (
        ["81.2.69.1", "81.2.69.2"], ["81.2.69.2", "81.2.69.1"],
    )  # fmt: skip


def test_jsonl_lines_are_the_reports_check_prints(tmp_path: Path) -> None:
    fleet = targets_file(tmp_path, f"{AUDITED} 81.2.69.5\n")
    world = LabWorld.from_text(lists_world(["spamhaus-zen", "spamcop"]))
    world.add("5.69.2.81.bl.spamcop.net", "A", "127.0.0.2")
    with LabDNSServer(world) as server:
        common = ["--only", "blocklists", "--lists", SMALL_LISTS, "--nameserver", server.address,
                  "--no-rdap", "--timeout", "5"]  # fmt: skip
        line = audit_cli("audit", fleet, *common, "--db", f"sqlite:///{tmp_path / 'h.db'}",
                         "--format", "jsonl").stdout  # fmt: skip
        printed = audit_cli("check", AUDITED, "81.2.69.5", *common, "--format", "json").stdout
    ours, theirs = json.loads(line), json.loads(printed)
    for report in (ours, theirs):
        del report["started_at"], report["duration_ms"]
    assert ours == theirs and ours["verdict"] == "fail"
    assert len(line.splitlines()) == 1


def test_a_progress_bar_on_a_terminal_and_none_in_a_pipe(tmp_path: Path) -> None:
    import os
    import pty

    fleet = targets_file(tmp_path, f"{AUDITED} 81.2.69.0/28\n")
    with LabDNSServer(LabWorld.from_text(lists_world(["spamcop"]))) as server:
        args = [sys.executable, "-m", "reputation", "audit", fleet, "--only", "blocklists",
                "--lists", "spamcop", "--nameserver", server.address, "--no-rdap",
                "--db", f"sqlite:///{tmp_path / 'h.db'}"]  # fmt: skip
        controller, terminal = pty.openpty()
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=terminal, env=cli_env())
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            shown += chunk
        os.close(controller)
        piped = audit_cli(*args[3:])
    assert done.returncode == 0 and b"16/16" in shown and b"auditing" in shown
    assert piped.returncode == 0 and piped.stderr == ""
