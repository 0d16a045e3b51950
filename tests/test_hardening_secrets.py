"""A list key is never printed: not in a report, not in `lists --health`, in no format."""

from __future__ import annotations

import subprocess

import pytest

from reputation.blocklists import load_catalog, point_name
from reputation.dns.lab import LabDNSServer, LabWorld
from tests.test_cli import reputation_cli
from tests.worlds import PRECONDITIONS

KEY = "Dqs0Secret7Key9Abcdefghij"  # mixed case: DNS names come back lower-cased


def run_with_key(*args: str) -> subprocess.CompletedProcess[str]:
    return reputation_cli(*args, extra_env={"SPAMHAUS_DQS_KEY": KEY})


@pytest.fixture
def dqs_timing_out(lab_dns) -> LabDNSServer:
    """The DQS zones answer, but their RFC 5782 test points time out: the failing name, which
    holds the key, is what the report must name."""
    world = LabWorld.from_text(PRECONDITIONS)
    for entry in load_catalog().lists:
        if entry.key_env == "SPAMHAUS_DQS_KEY" and entry.test_listed:
            zone = entry.effective_zone({"SPAMHAUS_DQS_KEY": KEY})
            world.drop(point_name(entry.test_listed, zone))
    return lab_dns(world)


def _assert_hidden(done: subprocess.CompletedProcess[str]) -> None:
    out = done.stdout + done.stderr
    assert KEY.lower() not in out.lower()
    # The name that failed is still shown, the key replaced (Markdown escapes the brackets).
    assert "<SPAMHAUS_DQS_KEY>" in out.replace("\\", "")


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_the_key_is_in_no_check_output(dqs_timing_out: LabDNSServer, fmt: str) -> None:
    done = run_with_key(
        "check", "clean.net", "81.2.69.142", "--helo", "mail.clean.net", "--no-rdap",
        "--nameserver", dqs_timing_out.address, "--timeout", "0.3", "--format", fmt,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr  # the Spamhaus lists could not be read
    _assert_hidden(done)


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_the_key_is_not_in_lists_health(dqs_timing_out: LabDNSServer, fmt: str) -> None:
    done = run_with_key(
        "lists", "--health", "--nameserver", dqs_timing_out.address, "--timeout", "0.3",
        "--format", fmt,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    _assert_hidden(done)


def test_the_key_is_not_in_the_python_report(dqs_timing_out: LabDNSServer) -> None:
    import reputation

    report = reputation.check(
        "clean.net", "81.2.69.142", "mail.clean.net", nameservers=[dqs_timing_out.address],
        timeout=0.3, rdap=False, env={"SPAMHAUS_DQS_KEY": KEY},
    )  # fmt: skip
    assert KEY.lower() not in repr(report.to_dict()).lower()
    assert "<SPAMHAUS_DQS_KEY>" in repr(report.to_dict())
