"""JSON: the public contract, Report.to_dict() as it is."""

from __future__ import annotations

import json
from typing import Any

from reputation.report import Report


def render(report: Report, colour: bool = False) -> str:
    return dumps(report.to_dict())


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
