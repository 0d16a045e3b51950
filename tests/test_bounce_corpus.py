"""The shared bounce corpus (sisimai's labelled samples): the targets the analyser must meet.

The measured figures are in the README (scripts/bounce_accuracy); these are the issue's targets.
"""

from __future__ import annotations

import json
from pathlib import Path

from reputation.bounce.analyse import analyse
from reputation.bounce.model import Failure
from reputation.bounce.reading import read_paths
from reputation.bounce.reasons import CURRENT_NAMES, NOT_BOUNCES


def test_corpus_recipients_status_and_reasons(shared_dir: Path) -> None:
    corpus = shared_dir / "corpora" / "bounces"
    records = [json.loads(x) for x in (corpus / "expected.jsonl").read_text().splitlines() if x]
    found: dict[str, list[Failure]] = {}
    for name in {r["file"] for r in records}:
        items = read_paths([str(corpus / name)], None)  # type: ignore[arg-type]
        found[name] = [f for item in items for f in analyse(item).recipients]

    def answer(record: dict) -> Failure | None:
        wanted = record["recipient"].lower()
        return next((f for f in found[record["file"]] if f.address.lower() == wanted), None)

    with_address = [r for r in records if r["recipient"]]
    assert sum(answer(r) is not None for r in with_address) / len(with_address) >= 0.97

    with_status = [r for r in records if r["status"]]
    right_status = sum(bool((f := answer(r)) and f.status == r["status"]) for r in with_status)
    assert right_status / len(with_status) >= 0.95

    def same_record(record: dict) -> Failure | None:
        """By address; by position in the message when the addresses differ (anonymised)."""
        position = found[record["file"]][record["index"] - 1 : record["index"]]
        return answer(record) or (position[0] if position else None)

    bounces = [r for r in records if r["reason_current"] not in NOT_BOUNCES]
    right = 0
    for record in bounces:
        failure = same_record(record)
        reason = CURRENT_NAMES.get(failure.reason, failure.reason) if failure else ""
        right += reason in (record["reason"], record["reason_current"])
    assert right / len(bounces) >= 0.90
