"""Audit history in SQLite (default) or PostgreSQL, through SQLAlchemy Core.

The schema carries its version in `schema_version`; opening a database upgrades it step by
step, so a fresh database and an old one end in the same shape. Reports are stored as the
JSON of `Report.to_dict()` (the public reputation/report/v1 contract) and read back as such.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from reputation.inputs import BadInput
from reputation.report import Report

SCHEMA_VERSION = 2
IN_CHUNK = 500  # keys in one IN (...): well under SQLite's and PostgreSQL's parameter limits

metadata = sa.MetaData()

version_table = sa.Table("schema_version", metadata, sa.Column("version", sa.Integer))

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.String(32), nullable=False),
    sa.Column("finished_at", sa.String(32)),
    sa.Column("status", sa.String(16), nullable=False),  # running, finished, interrupted
    sa.Column("scope", sa.String(255), nullable=False),  # checks + shard: runs comparable
    sa.Column("shard", sa.String(32), nullable=False),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("previous_run_id", sa.Integer),
    sa.Column("host", sa.String(255)),  # since schema 2: which machine ran the shard
)


def _per_target() -> list[sa.Column[Any]]:
    """The columns every per-target row starts with: its run and which target it is about."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("target_key", sa.String(600), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
    ]


results = sa.Table(
    "results",
    metadata,
    *_per_target(),
    sa.Column("helo", sa.String(255)),
    sa.Column("tags", sa.String(255), nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("checked_at", sa.String(32), nullable=False),
    sa.Column("report", sa.Text, nullable=False),
    sa.UniqueConstraint("run_id", "target_key", name="results_run_target"),
    sa.Index("results_domain", "domain"),
    sa.Index("results_ip", "ip"),
)

changes = sa.Table(
    "changes",
    metadata,
    *_per_target(),
    sa.Column("kind", sa.String(16), nullable=False),  # see changes.KINDS
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("old", sa.String(64), nullable=False),
    sa.Column("new", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index("changes_run", "run_id"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.Column("sent_at", sa.String(32)),
)


def _create_v1(conn: Connection) -> None:
    """Schema 1: runs (without host), results, changes, notifications."""
    v1 = sa.MetaData()
    sa.Table("runs", v1, *(c._copy() for c in runs.columns if c.name != "host"))
    for table in (results, changes, notifications):
        table.to_metadata(v1)
    v1.create_all(conn)


def _add_host(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE runs ADD COLUMN host VARCHAR(255)"))


# Step N brings a database from version N-1 to N.
UPGRADES: dict[int, Callable[[Connection], None]] = {1: _create_v1, 2: _add_host}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def default_url() -> str:
    """SQLite in the user's state directory (XDG Base Directory spec)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return f"sqlite:///{Path(state) / 'reputation' / 'history.db'}"


def engine_url(url: str) -> str:
    """postgresql:// and postgres:// go through psycopg 3; sqlite:/// as given; a bare path is SQLite."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith(("sqlite:", "postgresql+")):
        return url
    if "://" in url:
        raise BadInput(f"invalid database URL {url!r}: expected sqlite:///PATH or postgresql://...")
    return f"sqlite:///{Path(url).expanduser()}"


@dataclass
class Run:
    id: int
    started_at: str
    finished_at: str | None
    status: str
    scope: str
    shard: str
    options: dict[str, Any]
    previous_run_id: int | None
    host: str | None


class Store:
    """One database; every method is a short transaction of its own."""

    def __init__(self, url: str | None = None) -> None:
        url = engine_url(url or default_url())
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = sa.create_engine(url)
            self._upgrade()
        except ModuleNotFoundError as exc:  # the PostgreSQL driver is an optional extra
            raise BadInput(
                f"cannot open the history database: {exc.name} is not installed "
                "(pip install 'reputation[postgresql]')"
            ) from None
        except (sa.exc.OperationalError, sa.exc.ArgumentError) as exc:
            raise BadInput(f"cannot open the history database: {_first_line(exc)}") from None
        self._pending: list[dict[str, Any]] = []
        self._pending_changes: list[dict[str, Any]] = []

    def close(self) -> None:
        self.flush()
        self.engine.dispose()

    # --- schema ------------------------------------------------------------------------------

    def version(self) -> int:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("schema_version"):
                return 0
            return int(conn.execute(sa.select(version_table.c.version)).scalar() or 0)

    def _upgrade(self) -> None:
        with self.engine.begin() as conn:
            if not sa.inspect(conn).has_table("schema_version"):
                version_table.create(conn)
                conn.execute(version_table.insert().values(version=0))
            found = int(conn.execute(sa.select(version_table.c.version)).scalar() or 0)
            if found > SCHEMA_VERSION:
                raise BadInput(
                    f"the history database has schema {found}, newer than this version of"
                    f" reputation knows ({SCHEMA_VERSION}); upgrade reputation"
                )
            for step in range(found + 1, SCHEMA_VERSION + 1):
                UPGRADES[step](conn)
                conn.execute(version_table.update().values(version=step))

    # --- runs --------------------------------------------------------------------------------

    def start_run(self, scope: str, shard: str, options: dict[str, Any]) -> Run:
        previous = self.last_run(scope, status="finished")
        values = {
            "started_at": now(),
            "status": "running",
            "scope": scope,
            "shard": shard,
            "options": json.dumps(options, sort_keys=True),
            "previous_run_id": previous.id if previous else None,
            "host": socket.gethostname(),
        }
        with self.engine.begin() as conn:
            run_id = conn.execute(runs.insert().values(**values)).inserted_primary_key[0]
        return self.run(int(run_id))

    def resume_run(self, scope: str) -> Run | None:
        """The latest run of this scope, if it did not finish."""
        last = self.last_run(scope)
        if last is None or last.status == "finished":
            return None
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == last.id).values(status="running"))
        return self.run(last.id)

    def finish_run(self, run_id: int, status: str) -> None:
        self.flush()
        with self.engine.begin() as conn:
            conn.execute(
                runs.update().where(runs.c.id == run_id).values(status=status, finished_at=now())
            )

    def run(self, run_id: int) -> Run:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).one()
        return _run(row)

    def last_run(self, scope: str, status: str | None = None) -> Run | None:
        query = sa.select(runs).where(runs.c.scope == scope)
        if status:
            query = query.where(runs.c.status == status)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(runs.c.id.desc()).limit(1)).first()
        return _run(row) if row else None

    def runs(self, since: str | None = None) -> list[Run]:
        query = sa.select(runs).order_by(runs.c.started_at, runs.c.id)
        if since:
            query = query.where(runs.c.started_at >= since)
        with self.engine.connect() as conn:
            return [_run(row) for row in conn.execute(query)]

    # --- results -----------------------------------------------------------------------------

    def add_result(
        self, run_id: int, key: str, tags: tuple[str, ...], report: dict, text: str = ""
    ) -> None:
        """Buffered; written by flush() (the runner flushes often, and on every stop)."""
        target = report["target"]
        self._pending.append(
            {
                "run_id": run_id,
                "target_key": key,
                "domain": target["domain_ascii"],
                "ip": target["ip"],
                "helo": target["helo"],
                "tags": " ".join(tags),
                "verdict": report["verdict"],
                "checked_at": now(),
                "report": text or json.dumps(report, ensure_ascii=False),
            }
        )

    def add_changes(self, rows: list[dict[str, Any]]) -> None:
        self._pending_changes.extend(rows)

    def flush(self) -> None:
        if not self._pending and not self._pending_changes:
            return
        with self.engine.begin() as conn:
            if self._pending:
                conn.execute(results.insert(), self._pending)
            if self._pending_changes:
                conn.execute(changes.insert(), self._pending_changes)
        self._pending, self._pending_changes = [], []

    def result_keys(self, run_id: int) -> set[str]:
        """The targets the run has results for, written or still buffered."""
        query = sa.select(results.c.target_key).where(results.c.run_id == run_id)
        with self.engine.connect() as conn:
            keys = set(conn.execute(query).scalars())
        return keys | {p["target_key"] for p in self._pending if p["run_id"] == run_id}

    def report(self, run_id: int, key: str) -> dict | None:
        query = sa.select(results.c.report).where(
            results.c.run_id == run_id, results.c.target_key == key
        )
        with self.engine.connect() as conn:
            text = conn.execute(query).scalar()
        return json.loads(text) if text else None

    def report_lines(self, run_id: int, keys: list[str]) -> dict[str, str]:
        """The run's reports of these targets as stored (JSON lines), by target key: one query
        per IN_CHUNK keys."""
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), IN_CHUNK):
                query = sa.select(results.c.target_key, results.c.report).where(
                    results.c.run_id == run_id,
                    results.c.target_key.in_(keys[start : start + IN_CHUNK]),
                )
                for key, line in conn.execute(query):
                    found[key] = line
        return found

    def read_report(self, run_id: int, key: str) -> Report | None:
        """A stored report as the Report it was."""
        data = self.report(run_id, key)
        return Report.from_dict(data) if data is not None else None

    def reports(self, run_id: int) -> Iterator[dict]:
        """The run's reports in the order they finished, streamed from the database."""
        return (json.loads(line) for line in self.lines(run_id))

    def lines(self, run_id: int) -> Iterator[str]:
        """The run's reports as stored (JSON lines), in the order they finished, streamed."""
        query = sa.select(results.c.report).where(results.c.run_id == run_id).order_by(results.c.id)
        with self.engine.connect() as conn:
            for (line,) in conn.execution_options(yield_per=500).execute(query):
                yield line

    def count_results(self, run_id: int) -> int:
        query = sa.select(sa.func.count()).select_from(results).where(results.c.run_id == run_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def gone_targets(self, run_id: int, previous_run_id: int) -> Iterator[sa.Row]:
        """Targets of the previous run that this run no longer has."""
        now_ = results.alias("now_")
        query = (
            sa.select(results.c.target_key, results.c.domain, results.c.ip)
            .where(results.c.run_id == previous_run_id)
            .where(
                ~sa.exists().where(
                    now_.c.run_id == run_id, now_.c.target_key == results.c.target_key
                )
            )
            .order_by(results.c.id)
        )
        with self.engine.connect() as conn:
            yield from conn.execute(query)

    # --- changes -----------------------------------------------------------------------------

    def changes(
        self, run_id: int | None = None, target: str | None = None, since: str | None = None
    ) -> Iterator[dict[str, Any]]:
        query = (
            sa.select(changes, runs.c.started_at, runs.c.shard)
            .join(runs, runs.c.id == changes.c.run_id)
            .order_by(runs.c.started_at, changes.c.id)
        )
        if run_id is not None:
            query = query.where(changes.c.run_id == run_id)
        if target:
            query = query.where(sa.or_(changes.c.domain == target, changes.c.ip == target))
        if since:
            query = query.where(runs.c.started_at >= since)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                yield dict(row._mapping)

    # --- notifications -------------------------------------------------------------------------

    def keep_notification(
        self, run_id: int, url: str, payload: dict, error: str, tries: int
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                notifications.insert().values(
                    run_id=run_id, url=url, payload=json.dumps(payload), attempts=tries,
                    last_error=error, sent_at=None,
                )
            )  # fmt: skip

    def unsent_notifications(self) -> list[dict[str, Any]]:
        query = sa.select(notifications).where(notifications.c.sent_at.is_(None))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query.order_by(notifications.c.id))]

    def mark_notification(self, note_id: int, error: str | None, tries: int) -> None:
        values: dict[str, Any] = {"attempts": notifications.c.attempts + tries}
        if error is None:
            values["sent_at"] = now()
        else:
            values["last_error"] = error
        with self.engine.begin() as conn:
            conn.execute(
                notifications.update().where(notifications.c.id == note_id).values(**values)
            )


def _run(row: sa.Row) -> Run:
    m = row._mapping
    return Run(
        id=m["id"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        status=m["status"],
        scope=m["scope"],
        shard=m["shard"],
        options=json.loads(m["options"]),
        previous_run_id=m["previous_run_id"],
        host=m["host"],
    )


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
