"""A finished report as the audit keeps it: its JSON line and the summary the audit reads.

The line is exactly `json.dumps(report.to_dict(), ensure_ascii=False)` (the reputation/report/v1
object `check --format json` prints, on one line), made without the intermediate dict: a fleet
audit writes thousands of reports whose checks and provider verdicts are the very same records
(the checks not requested, the verdicts remembered by reputation.providers), so their JSON is
made once and reused. tests/test_audit_encode.py holds the line to `to_dict()`.

The summary holds the fields the audit's counters, writers, store and change detection read;
a report read back from the database (a full `to_dict()`) serves them as well.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any

from reputation.report import SCHEMA, BlocklistResult, Report

_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
encode_string = json.encoder.encode_basestring  # a str as JSON, as _encode writes it
MAX_SHARED = 256  # distinct record lists whose JSON is kept
MAX_TEMPLATES = 1024  # distinct list answers whose JSON is kept
_HOLE = "\x00"  # where a template's query and removal URL go
# A list result's template is that of every result with the same fields but these (txt: only
# results without TXT texts are written from a template).
_KEYED = [f for f in fields(BlocklistResult) if f.name not in ("query", "removal_url", "txt")]
_TEMPLATE_TEXTS = attrgetter(*(f.name for f in _KEYED if f.default_factory is not list))
_TEMPLATE_LISTS = attrgetter(*(f.name for f in _KEYED if f.default_factory is list))


class ReportEncoder:
    def __init__(self) -> None:
        # id()s of a record list -> (the records, held so the ids stay theirs; their JSON)
        self._shared: dict[tuple[int, ...], tuple[tuple[Any, ...], str, list[dict]]] = {}
        self._templates: dict[tuple, list[str]] = {}

    def encode(self, report: Report) -> tuple[dict[str, Any], str]:
        """(summary, JSON line) of one report."""
        unverified = report.unverified
        verdict = str(report.verdict)
        target = report.target.to_dict()
        checks, checks_json = self._records(report.checks, _check_summary)
        providers, providers_json = self._records(report.providers, _provider_summary)
        line = (
            f'{{"schema": {_encode(SCHEMA)}, "target": {_encode(target)}, '
            f'"started_at": {_encode(report.started_at)}, '
            f'"duration_ms": {_encode(report.duration_ms)}, "verdict": {_encode(verdict)}, '
            f'"checks": {checks_json}, '
            f'"blocklists": {self._listings(report.blocklists)}, '
            f'"providers": {providers_json}, "remedies": {_encode(report.remedies)}, '
            f'"unverified": {_encode(unverified)}}}'
        )
        summary = {
            "target": target,
            "verdict": verdict,
            "checks": checks,
            "blocklists": [
                {
                    "zone": b.zone,
                    "id": b.list_id,
                    "query": b.query,
                    "status": str(b.status),
                    "codes": b.codes,
                    "meanings": b.meanings,
                }
                for b in report.blocklists
            ],
            "providers": providers,
            "unverified": unverified,
        }
        return summary, line

    def _listings(self, listings: Sequence[BlocklistResult]) -> str:
        """The JSON of a report's list results. A result differs from the same list's other
        results (the same answer) in its query and removal URL only, which are the IP's: the
        rest is written once per list and answer, and the two filled in."""
        parts = []
        for result in listings:
            template = self._template(result) if not result.txt else None
            if template is None:  # TXT texts name the address: not worth keeping
                parts.append(_encode(result.to_dict()))
            else:
                query, url = encode_string(result.query), encode_string(result.removal_url)
                parts.append(f"{template[0]}{query}{template[1]}{url}{template[2]}")
        return f"[{', '.join(parts)}]"

    def _template(self, result: BlocklistResult) -> list[str] | None:
        """A result's JSON around its query and removal URL, in three pieces."""
        key = (_TEMPLATE_TEXTS(result), *map(tuple, _TEMPLATE_LISTS(result)))
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.clear()
            data = {**result.to_dict(), "query": _HOLE, "removal_url": _HOLE}
            template = self._templates[key] = _encode(data).split(_encode(_HOLE))
        return template if len(template) == 3 else None  # a field that holds _HOLE itself

    def _records(self, records: Sequence[Any], summarise: Any) -> tuple[list[dict], str]:
        """The summaries and JSON of a list of records, made once for the same records."""
        key = tuple(map(id, records))
        known = self._shared.get(key)
        if known is None:
            if len(self._shared) >= MAX_SHARED:
                self._shared.clear()
            text = _encode([r.to_dict() for r in records])
            known = self._shared[key] = (tuple(records), text, [summarise(r) for r in records])
        return known[2], known[1]


def _check_summary(check: Any) -> dict[str, Any]:
    return {"id": check.id, "status": str(check.status), "summary": check.summary}


def _provider_summary(provider: Any) -> dict[str, Any]:
    return {"id": provider.id, "name": provider.name, "verdict": provider.verdict}
