"""A list that keeps failing is stopped for the run, reported once, and never read as clean."""

from __future__ import annotations

from reputation.audit.breaker import ListsBreaker


def test_opens_after_threshold_failures_in_a_row_and_is_announced_once() -> None:
    breaker = ListsBreaker(threshold=3)
    for _ in range(2):
        breaker.record("bl.example", failed=True, detail="timeout")
    breaker.record("bl.example", failed=False)  # an answer resets the count
    for _ in range(2):
        breaker.record("bl.example", failed=True, detail="timeout")
    assert breaker.allows("bl.example") and breaker.newly_opened() == []
    breaker.record("bl.example", failed=True, detail="SERVFAIL")
    assert not breaker.allows("bl.example") and breaker.allows("other.example")
    assert breaker.newly_opened() == [("bl.example", "SERVFAIL")]
    assert breaker.newly_opened() == []  # reported once per run
    assert "failed 3 queries in a row" in breaker.why("bl.example")
