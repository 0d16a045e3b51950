"""What changed for one target between two runs, read from two reputation/report/v1 dicts.

Kinds: listed / delisted (per list and subject), check (status), provider (verdict),
added / gone (targets). A lookup that could not be completed is never a delisting: a
listing only goes away when the list answers "not listed".
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

KINDS = ("listed", "delisted", "check", "provider", "added", "gone")

Change = dict[str, Any]


def between(key: str, old: dict | None, new: dict) -> list[Change]:
    """The changes of one target; `old` None means the target is new in this run. Each is a
    report's `to_dict()` or its summary (reputation.audit.encode)."""
    target = new["target"]
    if old is None:
        return [_change(key, target, "added", "target", "", new["verdict"], "new target")]
    found = _listings(key, target, old, new)
    found += _checks(key, target, old, new)
    found += _providers(key, target, old, new)
    return found


def between_lines(key: str, old_line: str | None, new: dict, new_line: str) -> list[Change]:
    """`between`, given the previous report as its stored JSON line: a line that says the same
    as the new one from the verdict on is no change, and is not parsed (most of a fleet)."""
    if old_line is None:
        return between(key, None, new)
    said = _from_verdict(new_line)
    if said is not None and said == _from_verdict(old_line):
        return []
    return between(key, json.loads(old_line), new)


# Everything changes are read from comes after the report's verdict; before it are the target
# and when it was checked. No string value can hold this unescaped (a quote in one is \").
_VERDICT_KEY = ', "verdict": '


def _from_verdict(line: str) -> str | None:
    start = line.find(_VERDICT_KEY)
    return line[start:] if start >= 0 else None


def gone(key: str, domain: str, ip: str) -> Change:
    target = {"domain_ascii": domain, "ip": ip}
    return _change(key, target, "gone", "target", "", "", "not in this run")


def _change(
    key: str, target: dict, kind: str, subject: str, old: str, new: str, detail: str
) -> Change:
    return {
        "target_key": key,
        "domain": target["domain_ascii"],
        "ip": target["ip"],
        "kind": kind,
        "subject": subject,
        "old": old,
        "new": new,
        "detail": detail,
    }


def _by_list(report: dict) -> dict[tuple[str, str], dict]:
    return {(b["zone"], b["query"]): b for b in report["blocklists"]}


def _listings(key: str, target: dict, old: dict, new: dict) -> list[Change]:
    before, after = _by_list(old), _by_list(new)
    found = []
    for (zone, query), now in after.items():
        was = before.get((zone, query), {}).get("status", "")
        if now["status"] == "listed" and was != "listed":
            meaning = "; ".join(now["meanings"]) or ", ".join(now["codes"])
            detail = f"{query} listed on {zone}: {meaning}" if meaning else f"{query} on {zone}"
            found.append(_change(key, target, "listed", zone, was, "listed", detail))
        elif was == "listed" and now["status"] == "clean":
            detail = f"{query} no longer listed on {zone}"
            found.append(_change(key, target, "delisted", zone, "listed", "clean", detail))
    return found


def _checks(key: str, target: dict, old: dict, new: dict) -> list[Change]:
    before = {c["id"]: c for c in old["checks"]}
    found = []
    for check in new["checks"]:
        was = before.get(check["id"])
        # "skip" is a check not run this time (or last time): nothing is known to have changed.
        if was is None or "skip" in (was["status"], check["status"]):
            continue
        if was["status"] != check["status"]:
            found.append(
                _change(
                    key, target, "check", check["id"], was["status"], check["status"],
                    check["summary"],
                )
            )  # fmt: skip
    return found


def _providers(key: str, target: dict, old: dict, new: dict) -> list[Change]:
    before = {p["id"]: p["verdict"] for p in old["providers"]}
    found = []
    for provider in new["providers"]:
        was = before.get(provider["id"])
        if was is not None and was != provider["verdict"]:
            detail = f"{provider['name']}: {was} -> {provider['verdict']}"
            found.append(
                _change(key, target, "provider", provider["id"], was, provider["verdict"], detail)
            )
    return found


def summary_line(counts: Counter[str], targets: int) -> str:
    """One line for people: '2 newly listed, 1 delisted on 3 targets'."""
    words = {
        "listed": "newly listed",
        "delisted": "delisted",
        "check": "check changes",
        "provider": "provider verdict changes",
        "added": "targets added",
        "gone": "targets gone",
    }
    parts = [f"{counts[k]} {words[k]}" for k in KINDS if counts[k]]
    if not parts:
        return "no changes"
    return f"{', '.join(parts)} ({targets} target{'s' if targets != 1 else ''} changed)"


def count(rows: Iterable[Change]) -> tuple[Counter[str], int]:
    kinds: Counter[str] = Counter()
    targets: set[str] = set()
    for row in rows:
        kinds[row["kind"]] += 1
        targets.add(row["target_key"])
    return kinds, len(targets)
