"""JSON: the public contract, Report.to_dict() as it is (secrets hidden, controls escaped)."""

from __future__ import annotations

import json
from typing import Any

from reputation.render.escape import json_ascii_escapes
from reputation.report import Report


def render(report: Report, colour: bool = False) -> str:
    return dumps(report.to_dict())


def dumps(data: Any) -> str:
    """Readable UTF-8 JSON in which no character can hide or reorder text (see render.escape)."""
    return json_ascii_escapes(json.dumps(data, indent=2, ensure_ascii=False))
