"""The shared bounce corpus (sisimai's labelled samples): floors the analyser must not fall below.

The measured figures are in the README (scripts/bounce_accuracy); these floors catch regressions.
"""

from __future__ import annotations

import json
from pathlib import Path

from reputation.bounce.analyse import analyse
from reputation.bounce.reading import read_paths
from reputation.bounce.reasons import CURRENT_NAMES, NOT_BOUNCES


def test_corpus_recipients_status_and_reasons(shared_dir: Path) -> None:
    corpus = shared_dir / "corpora" / "bounces"
    records = [json.loads(x) for x in (corpus / "expected.jsonl").read_text().splitlines() if x]
    found = {}
    for name in {r["file"] for r in records}:
        items = read_paths([str(corpus / name)], None)  # type: ignore[arg-type]
        found[name] = [f for item in items for f in analyse(item).recipients]
    with_address = [r for r in records if r["recipient"]]
    hits = sum(
        any(f.address.lower() == r["recipient"].lower() for f in found[r["file"]])
        for r in with_address
    )
    right = total = 0
    for record in records:
        if record["reason_current"] in NOT_BOUNCES:
            continue
        total += 1
        answers = {CURRENT_NAMES.get(f.reason, f.reason) for f in found[record["file"]]
                   if f.address.lower() == record["recipient"].lower()}  # fmt: skip
        right += bool(answers & {record["reason"], record["reason_current"]})
    assert hits / len(with_address) >= 0.93
    assert right / total >= 0.65
