"""`--notify URL`: a JSON summary of a run's changes, posted only when something changed.

The payload has a Slack-compatible `text` field, so a Slack (or Mattermost, Rocket.Chat)
incoming-webhook URL works as it is. A post is retried with backoff; one that still fails is
kept in the database and sent before the next run's own.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from reputation.audit import changes as changes_mod
from reputation.audit.store import Run, Store

PAYLOAD_SCHEMA = "reputation/audit-changes/v1"
MAX_CHANGES = 200  # in one payload; `changes_total` says how many there were
MAX_TEXT_LINES = 20


@dataclass
class Delivery:
    attempts: int
    error: str | None  # None: delivered


def payload(
    run: Run, rows: list[dict[str, Any]], counts: Counter[str], changed: int, targets: int
) -> dict[str, Any]:
    """`rows`: the first MAX_CHANGES changes; `counts`, `changed`: over all of them."""
    total = sum(counts.values())
    summary = changes_mod.summary_line(counts, changed)
    lines = [f"reputation audit run {run.id} (shard {run.shard}): {summary}"]
    lines += [f"• {row['detail'] or _plain(row)}" for row in rows[:MAX_TEXT_LINES]]
    if total > MAX_TEXT_LINES:
        lines.append(
            f"… and {total - MAX_TEXT_LINES} more (reputation history --since {run.started_at[:10]})"
        )
    return {
        "schema": PAYLOAD_SCHEMA,
        "text": "\n".join(lines),
        "run": {
            "id": run.id,
            "started_at": run.started_at,
            "shard": run.shard,
            "host": run.host,
            "targets": targets,
        },
        "counts": dict(counts),
        "changes_total": total,
        "changes": [_public(row) for row in rows[:MAX_CHANGES]],
    }


def _plain(row: dict[str, Any]) -> str:
    return (
        f"{row['domain']} {row['ip']}: {row['kind']} {row['subject']} {row['old']} -> {row['new']}"
    )


def _public(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("domain", "ip", "kind", "subject", "old", "new", "detail")
    return {k: row[k] for k in keys}


def post(
    url: str,
    body: dict[str, Any],
    *,
    tries: int = 4,
    backoff: float = 1.0,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST with retries: waits backoff, 2 x backoff, ... between tries. 2xx is delivered."""
    error = ""
    for attempt in range(1, tries + 1):
        try:
            response = httpx.post(url, json=body, timeout=timeout)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                return Delivery(attempt, None)
            error = f"HTTP {response.status_code}"
        if attempt < tries:
            sleep(backoff * 2 ** (attempt - 1))
    return Delivery(tries, error)


def send_pending(store: Store, *, tries: int, backoff: float) -> list[str]:
    """Re-send what earlier runs could not deliver; the problems of those still failing."""
    problems = []
    for note in store.unsent_notifications():
        delivery = post(note["url"], json.loads(note["payload"]), tries=tries, backoff=backoff)
        store.mark_notification(note["id"], delivery.error, delivery.attempts)
        if delivery.error:
            problems.append(
                f"notification of run {note['run_id']} still not delivered: {delivery.error}"
            )
    return problems


def notify_run(
    store: Store, run: Run, url: str, targets: int, *, tries: int = 4, backoff: float = 1.0
) -> str | None:
    """Post the run's changes if there are any; a problem line when the post failed (kept)."""
    rows: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    changed: set[str] = set()
    for row in store.changes(run_id=run.id):
        counts[row["kind"]] += 1
        changed.add(row["target_key"])
        if len(rows) < MAX_CHANGES:
            rows.append(row)
    if not counts:
        return None
    body = payload(run, rows, counts, len(changed), targets)
    delivery = post(url, body, tries=tries, backoff=backoff)
    if delivery.error is None:
        return None
    store.keep_notification(run.id, url, body, delivery.error, delivery.attempts)
    return (
        f"notification not delivered after {delivery.attempts} tries ({delivery.error});"
        " kept, and sent with the next run"
    )
