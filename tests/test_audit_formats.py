"""Monitoring outputs: Nagios plugin conventions and Prometheus text exposition, checked by
their own rules (the Nagios plugin guidelines; prometheus_client's parser)."""

from __future__ import annotations

import io
import re

from prometheus_client.parser import text_string_to_metric_families

from reputation.audit.formats import AuditFormat, Stats, nagios_line, writer


def report(
    ip: str, verdict: str, listed: tuple[str, ...] = (), errors: tuple[str, ...] = ()
) -> dict:
    lists = [
        {"zone": z, "id": z.split(".")[0], "query": ip, "status": "listed"} for z in listed
    ] + [{"zone": z, "id": z.split(".")[0], "query": ip, "status": "error"} for z in errors]
    return {
        "target": {"domain": "example.net", "domain_ascii": "example.net", "ip": ip, "helo": None},
        "verdict": verdict,
        "checks": [{"id": "helo_ptr", "status": "fail" if verdict == "fail" else "pass"}],
        "blocklists": [
            *lists,
            {"zone": "bl.spamcop.net", "id": "spamcop", "query": ip, "status": "clean"},
        ],
        "unverified": [f"{z}: error" for z in errors],
    }


REPORTS = [
    report("192.0.2.1", "pass"),
    report("192.0.2.2", "fail", listed=("zen.spamhaus.org",)),
    report("192.0.2.3", "incomplete", errors=("zen.spamhaus.org",)),
    report("192.0.2.4", "warn"),
]

# Nagios plugin guidelines, "Plugin Output" and "Performance data":
# 'label'=value[UOM];[warn];[crit];[min];[max]; UOM one of s us ms % B KB MB TB c or none.
PERF = re.compile(
    r"^'[^'=]+'=-?[0-9.]+(s|us|ms|%|B|KB|MB|TB|c)?"
    r";(@?[-0-9.~:]*)?;(@?[-0-9.~:]*)?;(-?[0-9.]*)?;(-?[0-9.]*)?$"
)


def run_writer(
    fmt: AuditFormat, reports: list[dict], stats: Stats | None = None
) -> tuple[str, Stats]:
    out = io.StringIO()
    stats = stats or Stats()
    output = writer(fmt, out)
    for r in reports:
        stats.add(r)
        output.result(r)
    stats.duration_s = 12.5
    stats.finished_at = 1_700_000_000.0
    output.finish(stats, lambda: iter(()))
    return out.getvalue(), stats


def check_nagios(line: str) -> tuple[str, str, list[str]]:
    assert "\n" not in line.strip()
    match = re.match(r"^REPUTATION (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]+) \| (.+)$", line.strip())
    assert match, line
    perf = match[3].split(" ")
    assert all(PERF.match(p) for p in perf), [p for p in perf if not PERF.match(p)]
    return match[1], match[2], perf


def test_nagios_critical_on_a_listing_with_perfdata() -> None:
    text, stats = run_writer(AuditFormat.NAGIOS, REPORTS)
    state, summary, perf = check_nagios(text)
    assert state == "CRITICAL" and stats.exit_code == 2
    assert "1 of 4 targets fail" in summary and "zen.spamhaus.org (1)" in summary
    assert "'listed_zen.spamhaus.org'=1;;0;0;4" in perf
    assert "'duration'=12.5s;;;0;" in perf


def test_nagios_states_follow_the_worst_target() -> None:
    cases = [(REPORTS[:1], "OK", 0), (REPORTS[3:] + REPORTS[:1], "WARNING", 1),
             (REPORTS[2:], "UNKNOWN", 3), ([], "UNKNOWN", 3)]  # fmt: skip
    for reports, state, code in cases:
        text, stats = run_writer(AuditFormat.NAGIOS, reports)
        assert check_nagios(text)[0] == state and stats.exit_code == code


def test_nagios_line_is_one_line_for_a_run_without_targets() -> None:
    assert "no target was checked" in nagios_line(Stats())


def test_prometheus_exposition_parses_and_says_what_matters() -> None:
    text, _ = run_writer(AuditFormat.PROMETHEUS, REPORTS)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert (
        samples[
            ("reputation_audit_listed_targets", (("list", "zen"), ("zone", "zen.spamhaus.org")))
        ]
        == 1
    )
    assert (
        samples[
            ("reputation_audit_listed_targets", (("list", "spamcop"), ("zone", "bl.spamcop.net")))
        ]
        == 0
    )
    assert (
        samples[
            ("reputation_audit_unverified_lookups", (("list", "zen"), ("zone", "zen.spamhaus.org")))
        ]
        == 1
    )
    verdict = ("reputation_audit_target_verdict",
               (("domain", "example.net"), ("ip", "192.0.2.2"), ("verdict", "fail")))  # fmt: skip
    assert samples[verdict] == 1
    assert samples[("reputation_audit_targets", (("verdict", "fail"),))] == 1
    assert samples[("reputation_audit_duration_seconds", ())] == 12.5
    assert samples[("reputation_audit_errors", (("kind", "bad_input_line"),))] == 0
    assert all(f.type == "gauge" for f in families.values())


def test_prometheus_label_values_are_escaped() -> None:
    odd = report("192.0.2.9", "pass")
    odd["target"]["domain_ascii"] = 'we"ird\\name'
    text, _ = run_writer(AuditFormat.PROMETHEUS, [odd])
    family = next(
        f
        for f in text_string_to_metric_families(text)
        if f.name == "reputation_audit_target_verdict"
    )
    assert family.samples[0].labels["domain"] == 'we"ird\\name'


def test_csv_row_per_target() -> None:
    text, _ = run_writer(AuditFormat.CSV, REPORTS[:2])
    assert text.splitlines() == [
        "domain,ip,helo,verdict,failing_checks,listed_zones,unverified",
        "example.net,192.0.2.1,,pass,,,0",
        "example.net,192.0.2.2,,fail,helo_ptr,zen.spamhaus.org,0",
    ]


def test_table_shows_counts_when_nothing_changed() -> None:
    text, _ = run_writer(AuditFormat.TABLE, REPORTS)
    assert text.startswith("No changes since the previous run.")
    assert re.search(r"listed on zen.spamhaus.org\s+1", text)
    assert re.search(r"verdict fail\s+1", text)
