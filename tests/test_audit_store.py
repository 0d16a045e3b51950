"""The audit history database: the same behaviour on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from reputation.audit import store as store_mod
from reputation.audit.store import SCHEMA_VERSION, Store
from reputation.inputs import BadInput


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return request.getfixturevalue("postgresql_db")


def report(ip: str, verdict: str = "pass") -> dict:
    return {
        "schema": "reputation/report/v1",
        "target": {"domain": "example.net", "domain_ascii": "example.net", "ip": ip,
                   "helo": None, "helo_assumed": False},
        "verdict": verdict, "checks": [], "blocklists": [], "providers": [],
    }  # fmt: skip


def test_a_run_and_its_reports_read_back(db_url: str) -> None:
    store = Store(db_url)
    run = store.start_run("scope", "1/1", {"checks": ["blocklists"]})
    assert run.status == "running" and run.previous_run_id is None
    store.add_result(run.id, "k1", ("esp",), report("192.0.2.1", "fail"))
    store.add_result(run.id, "k2", (), report("192.0.2.2"))
    store.finish_run(run.id, "finished")
    assert store.report(run.id, "k1") == report("192.0.2.1", "fail")
    assert [r["target"]["ip"] for r in store.reports(run.id)] == ["192.0.2.1", "192.0.2.2"]
    second = store.start_run("scope", "1/1", {})
    assert second.previous_run_id == run.id
    assert store.run(run.id).options == {"checks": ["blocklists"]}
    store.close()


def test_a_stored_report_reads_back_as_the_report_it_was(tmp_path: Path) -> None:
    from reputation import check
    from reputation.demo import world
    from reputation.dns.lab import LabDNSServer

    with LabDNSServer(world()) as server:
        original = check("good-sender.net", "81.2.69.142", nameservers=[server.address],
                         rdap=False, timeout=2)  # fmt: skip
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    run = store.start_run("scope", "1/1", {})
    store.add_result(run.id, "k", (), original.to_dict())
    store.flush()
    again = store.read_report(run.id, "k")
    assert again is not None and again.to_dict() == original.to_dict()
    assert again.verdict == original.verdict and again.exit_code == original.exit_code
    store.close()


def test_a_batch_of_previous_reports_is_read_by_target(db_url: str) -> None:
    """Change detection reads the previous run's reports a batch at a time, by target key,
    in chunks under the databases' parameter limits: every asked target, and only those."""
    store = Store(db_url)
    run = store.start_run("scope", "1/1", {})
    keys = [f"k{i}" for i in range(store_mod.IN_CHUNK * 2 + 3)]
    for i, key in enumerate(keys):
        store.add_result(run.id, key, (), report(f"192.0.2.{i % 250}", "warn"))
    other = store.start_run("other", "1/1", {})
    store.add_result(other.id, "k1", (), report("198.51.100.1"))
    store.flush()
    asked = [*keys[1:], "not-in-the-run"]
    found = store.report_lines(run.id, asked)
    assert set(found) == set(keys[1:])
    assert json.loads(found["k1"]) == report("192.0.2.1", "warn")
    assert json.loads(found[keys[-1]])["verdict"] == "warn"
    assert store.report_lines(run.id, []) == {}
    store.close()


def test_an_interrupted_run_is_resumed_and_keeps_its_results(db_url: str) -> None:
    store = Store(db_url)
    run = store.start_run("scope", "1/1", {})
    store.add_result(run.id, "k1", (), report("192.0.2.1"))
    store.finish_run(run.id, "interrupted")
    resumed = store.resume_run("scope")
    assert resumed is not None and resumed.id == run.id and resumed.status == "running"
    assert store.result_keys(run.id) == {"k1"}
    store.finish_run(run.id, "finished")
    assert store.resume_run("scope") is None
    store.close()


def test_targets_gone_since_the_previous_run(db_url: str) -> None:
    store = Store(db_url)
    first = store.start_run("scope", "1/1", {})
    for key in ("a", "b", "c"):
        store.add_result(first.id, key, (), report("192.0.2.1"))
    store.finish_run(first.id, "finished")
    second = store.start_run("scope", "1/1", {})
    store.add_result(second.id, "b", (), report("192.0.2.1"))
    store.flush()
    assert [row.target_key for row in store.gone_targets(second.id, first.id)] == ["a", "c"]
    store.close()


def test_an_old_schema_upgrades_itself(tmp_path: Path) -> None:
    """A database made by schema 1 (no runs.host) gains the column and keeps its rows."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        store_mod.version_table.create(conn)
        conn.execute(store_mod.version_table.insert().values(version=1))
        store_mod.UPGRADES[1](conn)
        conn.execute(sa.text(
            "INSERT INTO runs (started_at, status, scope, shard, options)"
            " VALUES ('2026-01-01T00:00:00Z', 'finished', 's', '1/1', '{}')"
        ))  # fmt: skip
    assert "host" not in {c["name"] for c in sa.inspect(engine).get_columns("runs")}
    store = Store(url)
    assert store.version() == SCHEMA_VERSION
    assert store.runs()[0].started_at == "2026-01-01T00:00:00Z"
    assert store.start_run("s", "1/1", {}).host
    store.close()


def test_a_newer_schema_is_refused_not_damaged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    Store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(store_mod.version_table.update().values(version=SCHEMA_VERSION + 1))
    with pytest.raises(BadInput, match="newer than this version"):
        Store(url)


def test_database_urls() -> None:
    assert store_mod.engine_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert store_mod.engine_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert store_mod.engine_url("/var/lib/x.db") == "sqlite:////var/lib/x.db"
    with pytest.raises(BadInput, match="invalid database URL"):
        store_mod.engine_url("mysql://u@h/db")


def test_default_database_is_in_the_state_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "/srv/state")
    assert store_mod.default_url() == "sqlite:////srv/state/reputation/history.db"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert store_mod.default_url() == f"sqlite:///{Path.home()}/.local/state/reputation/history.db"
