"""Audit targets: every input format, CIDR ranges, bad lines named and skipped, shards."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest

from reputation.audit.shard import Shard, parse_shard
from reputation.audit.targets import AuditTarget, BadLine, read_targets
from reputation.inputs import BadInput


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_plain_lines_with_optional_helo_and_comments(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        "t.txt",
        "# fleet\nexample.net 192.0.2.1\n\nBücher.example 192.0.2.2 mail.example.net\n",
    )
    assert list(read_targets([source])) == [
        AuditTarget("example.net", "192.0.2.1"),
        AuditTarget("xn--bcher-kva.example", "192.0.2.2", "mail.example.net"),
    ]


def test_addresses_are_written_one_way_so_a_target_is_the_same_target_every_run(
    tmp_path: Path,
) -> None:
    source = write(
        tmp_path,
        "t.txt",
        "a.net 192.0.2.1\na.net 2001:DB8:0::1\na.net ::ffff:192.0.2.9\na.net [198.51.100.7]\n"
        "a.net 192.0.2.01\na.net 192.0.2.256\na.net 0.0.0.0\n",
    )
    items = list(read_targets([source]))
    assert [i.ip for i in items if isinstance(i, AuditTarget)] == [
        "192.0.2.1", "2001:db8::1", "192.0.2.9", "198.51.100.7", "0.0.0.0",
    ]  # fmt: skip
    assert [i.line for i in items if isinstance(i, BadLine)] == [5, 6]


def test_csv_with_header_tags_and_any_column_order(tmp_path: Path) -> None:
    source = write(tmp_path, "t.csv", "ip,domain,tags,helo\n192.0.2.1,example.net,esp eu,\n")
    assert list(read_targets([source])) == [
        AuditTarget("example.net", "192.0.2.1", None, ("esp", "eu"))
    ]


def test_toml_target_tables(tmp_path: Path) -> None:
    source = write(tmp_path, "t.toml", """
[[target]]
domain = "example.net"
ip = "2001:db8::1"
helo = "mail.example.net"
tags = ["v6"]
""")  # fmt: skip
    assert list(read_targets([source])) == [
        AuditTarget("example.net", "2001:db8::1", "mail.example.net", ("v6",))
    ]


def test_standard_input() -> None:
    stdin = io.StringIO("domain,ip\nexample.net,192.0.2.9\n")
    assert list(read_targets(["-"], stdin)) == [AuditTarget("example.net", "192.0.2.9")]


def test_a_cidr_range_expands_to_every_address(tmp_path: Path) -> None:
    source = write(tmp_path, "t.txt", "example.net 192.0.2.0/30\n")
    assert [t.ip for t in read_targets([source])] == [
        "192.0.2.0", "192.0.2.1", "192.0.2.2", "192.0.2.3"
    ]  # fmt: skip


def test_a_large_range_streams(tmp_path: Path) -> None:
    source = write(tmp_path, "t.txt", "example.net 10.0.0.0/16\n")
    items = read_targets([source])
    first = list(itertools.islice(items, 3))
    assert [t.ip for t in first] == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]
    assert sum(1 for _ in items) == 65_536 - 3


def test_bad_lines_name_file_and_line_and_the_rest_still_run(tmp_path: Path) -> None:
    source = write(tmp_path, "t.txt", (
        "example.net 192.0.2.1\n"
        "example.net\n"
        "user@example.net 192.0.2.3\n"
        "example.net 192.0.2.300\n"
        "example.net 10.0.0.0/8\n"
        "example.net 192.0.2.5\n"
    ))  # fmt: skip
    items = list(read_targets([source]))
    assert [t.ip for t in items if isinstance(t, AuditTarget)] == ["192.0.2.1", "192.0.2.5"]
    bad = [str(b) for b in items if isinstance(b, BadLine)]
    assert [b.split(": ", 1)[0] for b in bad] == [f"{source}:{n}" for n in (2, 3, 4, 5)]
    assert "email address" in bad[1] and "192.0.2.300" in bad[2] and "16,777,216" in bad[3]


def test_unreadable_sources_are_bad_lines(tmp_path: Path) -> None:
    broken = write(tmp_path, "t.toml", "[[target]\n")
    items = list(read_targets([str(tmp_path / "missing.txt"), broken]))
    assert all(isinstance(i, BadLine) for i in items) and len(items) == 2
    assert "cannot read" in str(items[0]) and "not valid TOML" in str(items[1])


def test_csv_bad_rows_and_unknown_columns(tmp_path: Path) -> None:
    rows = write(
        tmp_path, "t.csv", "domain,ip\nexample.net,192.0.2.1,extra\nexample.net,192.0.2.2\n"
    )
    items = list(read_targets([rows]))
    assert str(items[0]) == f"{rows}:2: 3 fields, the header has 2"
    assert items[1] == AuditTarget("example.net", "192.0.2.2")
    header = write(tmp_path, "h.csv", "domain,ip,owner\n")
    assert "unknown CSV column 'owner'" in str(next(read_targets([header])))


def test_shards_split_the_fleet_once_and_always_the_same_way() -> None:
    keys = [AuditTarget("example.net", f"10.0.{i // 256}.{i % 256}").key for i in range(4096)]
    shards = [parse_shard(f"{k}/4") for k in range(1, 5)]
    owners = [[s for s in shards if s.holds(key)] for key in keys]
    assert all(len(o) == 1 for o in owners)  # every target in exactly one shard
    sizes = [sum(o[0] is s for o in owners) for s in shards]
    assert all(900 < n < 1150 for n in sizes)  # and the shares are even
    assert Shard(2, 4).holds(keys[0]) == parse_shard("2/4").holds(keys[0])


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "1/0"])
def test_bad_shard_specs(text: str) -> None:
    with pytest.raises(BadInput, match="invalid shard"):
        parse_shard(text)
