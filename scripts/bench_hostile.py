"""Benchmark: report size and wall time of `reputation check` against hostile but legal DNS.

Two worlds on the lab DNS server (127.0.0.1): an address with a 1,800-name PTR set (one answer,
over TCP; half the names resolve back), and a DMARC record of 1,500 unknown tags. Each is checked
by the real command line, every format, with --timeout 1; the promise is a report under 2 MB
within 3 x timeout plus start-up. Run from the repository root:

    .venv/bin/python scripts/bench_hostile.py [--timeout 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from reputation.dns.lab import LabDNSServer, LabWorld
from tests.worlds import PRECONDITIONS

ROOT = Path(__file__).resolve().parents[1]


def ptr_flood() -> tuple[LabWorld, str, str]:
    world = LabWorld.from_text(PRECONDITIONS)
    names = [f"host{i:04d}.ptr-flood.net." for i in range(1800)]
    world.add("150.69.2.81.in-addr.arpa", "PTR", *names)
    world.load("ptr-flood.net NS ns1.ptr-flood.net.")
    for name in names[:900]:
        world.add(name, "A", "81.2.69.150")
    return world, "clean.net", "81.2.69.150"


def dmarc_tags() -> tuple[LabWorld, str, str]:
    world = LabWorld.from_text(PRECONDITIONS)
    world.load("dm.net NS ns1.dm.net.\ndm.net MX 10 mail.clean.net.")
    world.add_txt("dm.net", "v=spf1 ip4:81.2.69.142 -all")
    record = "v=DMARC1; p=reject; " + "; ".join(f"x{i}=1" for i in range(1500))
    world.add_txt("_dmarc.dm.net", *[record[i : i + 255] for i in range(0, len(record), 255)])
    return world, "dm.net", "81.2.69.142"


def startup() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "reputation", "--help"], capture_output=True, env=_env())
    return time.monotonic() - started


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()
    base = startup()
    print(f"start-up (reputation --help): {base:.2f}s; bound: {3 * args.timeout:.1f}s + start-up")
    for label, make in (("1,800-name PTR set", ptr_flood), ("1,500 DMARC tags", dmarc_tags)):
        world, domain, ip = make()
        with LabDNSServer(world) as server:
            for fmt in ("json", "table", "markdown"):
                command = [
                    sys.executable, "-m", "reputation", "check", domain, ip, "--no-rdap",
                    "--helo", "mail.clean.net", "--nameserver", server.address,
                    "--timeout", str(args.timeout), "--format", fmt,
                ]  # fmt: skip
                started = time.monotonic()
                done = subprocess.run(command, capture_output=True, env=_env())
                took = time.monotonic() - started
                print(
                    f"{label:20} {fmt:8} {took:6.2f}s {len(done.stdout):>10,} bytes"
                    f"  exit {done.returncode}"
                )


if __name__ == "__main__":
    main()
