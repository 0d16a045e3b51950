"""Benchmark: how long one `reputation check` takes, and how many run per second, on a local DNS server.

The lab DNS server answers from memory on 127.0.0.1, so the numbers measure the checker itself
(query fan-out, parsing, rendering), not the internet. Run from the repository root:

    .venv/bin/python scripts/bench_check.py [--rounds 20] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import reputation
from reputation.demo import world
from reputation.dns.lab import LabDNSServer
from reputation.render import Format, render

SENDER = ("good-sender.net", "81.2.69.142", "mail.good-sender.net")


def one_check(address: str) -> tuple[float, int]:
    started = time.perf_counter()
    report = reputation.check(*SENDER, nameservers=[address], timeout=2, rdap=False)
    render(report, Format.JSON)
    return time.perf_counter() - started, len(report.blocklists)


async def many_checks(address: str, count: int) -> tuple[float, int]:
    started = time.perf_counter()
    reports = await asyncio.gather(
        *(
            reputation.check_async(*SENDER, nameservers=[address], timeout=5, rdap=False)
            for _ in range(count)
        )
    )
    complete = sum(1 for r in reports if str(r.verdict) != "incomplete")
    return time.perf_counter() - started, complete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    with LabDNSServer(world()) as server:
        one_check(server.address)  # warm caches: the PSL, the catalog, the provider data
        before = len(server.log)
        durations = [one_check(server.address)[0] for _ in range(args.rounds)]
        queries = (len(server.log) - before) / args.rounds
        elapsed, complete = asyncio.run(many_checks(server.address, args.concurrency))
    print(f"single check: median {statistics.median(durations) * 1000:.0f} ms, "
          f"p90 {sorted(durations)[int(len(durations) * 0.9) - 1] * 1000:.0f} ms "
          f"over {args.rounds} rounds; {queries:.0f} DNS queries per check")  # fmt: skip
    print(f"{args.concurrency} concurrent checks in one process: {elapsed:.2f} s "
          f"({args.concurrency / elapsed:.1f} checks/s), {complete} complete")  # fmt: skip


if __name__ == "__main__":
    main()
