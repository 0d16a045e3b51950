"""Audit output: a streaming writer per format. Per-target lines go out as results arrive;
the run's totals (kept as counters, never as a list of reports) close the output.

table       the changes since the previous run, then counts
jsonl       one reputation/report/v1 object a line, as `check --format json` prints it
csv         one row per target
nagios      one status line with perfdata; exit 0/1/2/3 (Nagios plugin guidelines)
prometheus  text exposition for node_exporter's textfile collector
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TextIO

from reputation.audit import changes as changes_mod


class AuditFormat(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"
    CSV = "csv"
    NAGIOS = "nagios"
    PROMETHEUS = "prometheus"


# Worst first; the run's exit code is the worst target's, as `check` exits for one target.
VERDICT_ORDER = ("fail", "incomplete", "warn", "pass")
EXIT_CODES = {"pass": 0, "warn": 1, "fail": 2, "incomplete": 3}
NAGIOS_STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
MAX_TABLE_CHANGES = 50


@dataclass
class Stats:
    """Counters over a run's reports: flat memory whatever the number of targets."""

    verdicts: Counter[str] = field(default_factory=Counter)
    listed: Counter[tuple[str, str]] = field(default_factory=Counter)  # (zone, list id)
    unverified: Counter[tuple[str, str]] = field(default_factory=Counter)
    check_errors: int = 0
    bad_lines: int = 0
    stopped_lists: dict[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    finished_at: float = 0.0
    changes: Counter[str] = field(default_factory=Counter)
    changed_targets: int = 0

    def add(self, report: dict[str, Any]) -> None:
        self.verdicts[report["verdict"]] += 1
        listed, unverified = self.listed, self.unverified
        for entry in report["blocklists"]:
            key = (entry["zone"], entry.get("id", ""))
            status = entry["status"]
            # Every list has its counters, at zero while nothing is found (monitoring reads 0).
            listed[key] += status == "listed"
            unverified[key] += status in ("error", "refused")
        if report["verdict"] != "pass":  # a check that errs makes the verdict incomplete
            self.check_errors += sum(c["status"] == "error" for c in report["checks"])

    @property
    def targets(self) -> int:
        return sum(self.verdicts.values())

    @property
    def worst(self) -> str:
        return next((v for v in VERDICT_ORDER if self.verdicts[v]), "pass")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.worst] if self.targets else 3


ChangeRows = Callable[[], Iterable[dict[str, Any]]]


def report_json(report: dict[str, Any]) -> str:
    """One line of JSON: the object `check --format json` prints, without its indentation."""
    return json.dumps(report, ensure_ascii=False)


class Batched(io.TextIOBase):
    """Collects output and passes it on in batches: one write per line to a pipe costs a
    system call (and, unbuffered, a wake-up of the reader) per target. A batch goes out when
    it is `every` seconds old or `most` characters long, so it stays small however fast the
    reports come."""

    def __init__(self, stream: TextIO, every: float = 0.5, most: int = 1 << 20) -> None:
        super().__init__()
        self.stream = stream
        self.every = every
        self.most = most
        self._parts: list[str] = []
        self._size = 0
        self._last = time.monotonic()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self.most:
            self.flush()
        return len(text)

    def flush(self) -> None:
        text = "".join(self._parts)
        self._parts, self._size = [], 0
        if text:
            self._write_all(text)
        self.stream.flush()
        self._last = time.monotonic()

    def _write_all(self, text: str) -> None:
        """Every byte, even when a signal interrupts a write to a pipe half-way: unbuffered
        (python -u, PYTHONUNBUFFERED) stdout sits on a raw file that may write only part."""
        raw = getattr(self.stream, "buffer", None)
        if raw is None:
            self.stream.write(text)
            return
        self.stream.flush()
        data = memoryview(text.encode(self.stream.encoding or "utf-8", "replace"))
        while data:
            written = raw.write(data)
            data = data[written if written is not None else 0 :]

    def flush_if_due(self) -> None:
        if time.monotonic() - self._last >= self.every:
            self.flush()


class Writer:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def result(self, report: dict[str, Any], text: str = "") -> None:
        """One finished target: its report's summary (reputation.audit.encode) or the full
        report read back from the database; `text`: its JSON line, when already made."""

    def finish(self, stats: Stats, change_rows: ChangeRows) -> None:
        """The run is over (or interrupted): totals."""


class JsonlWriter(Writer):
    def result(self, report: dict[str, Any], text: str = "") -> None:
        self.out.write(text or report_json(report))
        self.out.write("\n")


class CsvWriter(Writer):
    COLUMNS = ("domain", "ip", "helo", "verdict", "failing_checks", "listed_zones", "unverified")

    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        self.csv = csv.writer(out, lineterminator="\n")
        self.csv.writerow(self.COLUMNS)

    def result(self, report: dict[str, Any], text: str = "") -> None:
        target = report["target"]
        failing = [c["id"] for c in report["checks"] if c["status"] == "fail"]
        listed = [b["zone"] for b in report["blocklists"] if b["status"] == "listed"]
        self.csv.writerow(
            [
                target["domain_ascii"], target["ip"], target["helo"] or "", report["verdict"],
                " ".join(failing), " ".join(dict.fromkeys(listed)), len(report["unverified"]),
            ]
        )  # fmt: skip


class TableWriter(Writer):
    def finish(self, stats: Stats, change_rows: ChangeRows) -> None:
        from tabulate import tabulate  # only the table format needs it

        rows = []
        total = 0
        for row in change_rows():
            total += 1
            if len(rows) < MAX_TABLE_CHANGES:
                rows.append([row["domain"], row["ip"], row["kind"], row["subject"], _arrow(row)])
        if rows:
            self.out.write(f"Changes since the previous run ({total}):\n")
            self.out.write(tabulate(rows, ["domain", "ip", "change", "on", "was -> now"]) + "\n")
            if total > len(rows):
                self.out.write(f"... and {total - len(rows)} more: see `reputation history`\n")
        else:
            self.out.write("No changes since the previous run.\n")
        self.out.write("\n" + tabulate(_counts(stats), ["", "count"]) + "\n")


def _arrow(row: dict[str, Any]) -> str:
    return f"{row['old'] or '-'} -> {row['new'] or '-'}"


def _counts(stats: Stats) -> list[list[Any]]:
    lines: list[list[Any]] = [["targets", stats.targets]]
    lines += [[f"verdict {v}", stats.verdicts[v]] for v in VERDICT_ORDER if stats.verdicts[v]]
    lines += [[f"listed on {zone}", n] for (zone, _), n in sorted(stats.listed.items()) if n]
    lines += [
        [f"not verified on {zone}", n] for (zone, _), n in sorted(stats.unverified.items()) if n
    ]
    lines += [
        [f"stopped querying {zone}", "after repeated failures"] for zone in stats.stopped_lists
    ]
    if stats.bad_lines:
        lines.append(["bad input lines (skipped)", stats.bad_lines])
    lines.append(["duration (s)", round(stats.duration_s, 1)])
    return lines


class NagiosWriter(Writer):
    def finish(self, stats: Stats, change_rows: ChangeRows) -> None:
        self.out.write(nagios_line(stats) + "\n")


def nagios_line(stats: Stats) -> str:
    """SERVICE STATE - text | 'label'=value[UOM];[warn];[crit];[min];[max] ..."""
    state = NAGIOS_STATES[stats.exit_code]
    listed = sorted((zone for (zone, _), n in stats.listed.items() if n), key=str)
    text = f"{stats.verdicts['fail']} of {stats.targets} targets fail"
    if listed:
        text += ", listed on " + ", ".join(f"{z} ({_listed_on(stats, z)})" for z in listed)
    if stats.verdicts["incomplete"]:
        text += f", {stats.verdicts['incomplete']} not verified"
    if not stats.targets:
        text = "no target was checked"
    perf = [
        _perf("targets", stats.targets, minimum=0),
        _perf("fail", stats.verdicts["fail"], crit="0", minimum=0, maximum=stats.targets),
        _perf("warn", stats.verdicts["warn"], warn="0", minimum=0, maximum=stats.targets),
        _perf("incomplete", stats.verdicts["incomplete"], minimum=0, maximum=stats.targets),
        _perf("pass", stats.verdicts["pass"], minimum=0, maximum=stats.targets),
        _perf("duration", round(stats.duration_s, 3), unit="s", minimum=0),
    ]
    perf += [
        _perf(f"listed_{zone}", n, crit="0", minimum=0, maximum=stats.targets)
        for (zone, _), n in sorted(stats.listed.items())
    ]
    return f"REPUTATION {state} - {text} | {' '.join(perf)}"


def _listed_on(stats: Stats, zone: str) -> int:
    return sum(n for (z, _), n in stats.listed.items() if z == zone)


def _perf(
    label: str,
    value: float,
    *,
    unit: str = "",
    warn: str = "",
    crit: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
) -> str:
    low = "" if minimum is None else f"{minimum:g}"
    high = "" if maximum is None else f"{maximum:g}"
    return f"'{label}'={value:g}{unit};{warn};{crit};{low};{high}"


class PrometheusWriter(Writer):
    PREFIX = "reputation_audit"

    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        self.out.write(
            f"# HELP {self.PREFIX}_target_verdict Verdict of each target in the last audit "
            "(the label says which; value 1).\n"
            f"# TYPE {self.PREFIX}_target_verdict gauge\n"
        )

    def result(self, report: dict[str, Any], text: str = "") -> None:
        target = report["target"]
        labels = _labels(domain=target["domain_ascii"], ip=target["ip"], verdict=report["verdict"])
        self.out.write(f"{self.PREFIX}_target_verdict{labels} 1\n")

    def finish(self, stats: Stats, change_rows: ChangeRows) -> None:
        buffer = io.StringIO()
        p = self.PREFIX
        _family(buffer, f"{p}_targets", "Targets checked in the last audit, by verdict.", [
            (_labels(verdict=v), stats.verdicts[v]) for v in VERDICT_ORDER
        ])  # fmt: skip
        _family(buffer, f"{p}_listed_targets", "Targets listed on each blocklist.", [
            (_labels(zone=zone, list=lid), n) for (zone, lid), n in sorted(stats.listed.items())
        ])  # fmt: skip
        _family(buffer, f"{p}_unverified_lookups", "Blocklist lookups that could not be completed.", [
            (_labels(zone=zone, list=lid), n) for (zone, lid), n in sorted(stats.unverified.items())
        ])  # fmt: skip
        _family(buffer, f"{p}_errors", "Problems in the last audit, by kind.", [
            (_labels(kind="bad_input_line"), stats.bad_lines),
            (_labels(kind="check_error"), stats.check_errors),
            (_labels(kind="list_stopped"), len(stats.stopped_lists)),
        ])  # fmt: skip
        _family(buffer, f"{p}_changes", "Changes since the previous run, by kind.", [
            (_labels(kind=k), stats.changes[k]) for k in changes_mod.KINDS
        ])  # fmt: skip
        _family(buffer, f"{p}_duration_seconds", "How long the last audit took.", [
            ("", round(stats.duration_s, 3))
        ])  # fmt: skip
        _family(buffer, f"{p}_last_run_timestamp_seconds", "When the last audit ended.", [
            ("", round(stats.finished_at, 3))
        ])  # fmt: skip
        self.out.write(buffer.getvalue())


def _family(out: TextIO, name: str, help_text: str, samples: list[tuple[str, float]]) -> None:
    out.write(f"# HELP {name} {help_text}\n# TYPE {name} gauge\n")
    for labels, value in samples:
        out.write(
            f"{name}{labels} {value:g}\n" if isinstance(value, int) else f"{name}{labels} {value}\n"
        )


_ESCAPE = re.compile(r'[\\"\n]')


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return _ESCAPE.sub(lambda m: {"\\": "\\\\", '"': '\\"', "\n": "\\n"}[m[0]], value)

    inner = ",".join(f'{k}="{escape(str(v))}"' for k, v in labels.items())
    return "{" + inner + "}"


WRITERS: dict[AuditFormat, type[Writer]] = {
    AuditFormat.TABLE: TableWriter,
    AuditFormat.JSONL: JsonlWriter,
    AuditFormat.CSV: CsvWriter,
    AuditFormat.NAGIOS: NagiosWriter,
    AuditFormat.PROMETHEUS: PrometheusWriter,
}


def writer(fmt: AuditFormat, out: TextIO) -> Writer:
    return WRITERS[fmt](out)
