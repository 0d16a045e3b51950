"""A per-run circuit breaker for blocklists: a list that fails several queries in a row stops
being asked for the rest of the run, instead of stalling every remaining target on timeouts.

The Session consults it (`lists_breaker=`) before each list lookup and tells it each outcome.
Every target whose list was not asked is reported as not verified on that list — never clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_THRESHOLD = 5


@dataclass
class ListsBreaker:
    threshold: int = DEFAULT_THRESHOLD
    _failures: dict[str, int] = field(default_factory=dict)
    _open: dict[str, str] = field(default_factory=dict)  # zone -> why it was opened
    _announced: set[str] = field(default_factory=set)

    def allows(self, zone: str) -> bool:
        return zone not in self._open

    def why(self, zone: str) -> str:
        return (
            f"not queried: the list failed {self.threshold} queries in a row in this run"
            f" (last: {self._open.get(zone, '')})"
        )

    def record(self, zone: str, failed: bool, detail: str = "") -> None:
        """One lookup's outcome; `failed`: timed out, refused or errored."""
        if zone in self._open:
            return
        if not failed:
            self._failures[zone] = 0
            return
        self._failures[zone] = self._failures.get(zone, 0) + 1
        if self._failures[zone] >= self.threshold:
            self._open[zone] = detail or "failed"

    def newly_opened(self) -> list[tuple[str, str]]:
        """Lists stopped since the last call, each reported once per run: (zone, last problem)."""
        fresh = [(zone, why) for zone, why in self._open.items() if zone not in self._announced]
        self._announced.update(zone for zone, _ in fresh)
        return fresh

    @property
    def stopped(self) -> dict[str, str]:
        return dict(self._open)
