"""Can this resolver's negative answers be believed? Asked once, before any check relies on one.

Captive portals, filtering and broken networks answer NXDOMAIN for every name; ISP "search"
redirection rewrites NXDOMAIN into an address. Either way "this name does not exist" stops being
a fact. Two questions tell: the root (`. NS`) always exists, and a random label under the sender
domain's TLD never does.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from reputation.dns.answer import Answer, Outcome
from reputation.dns.cache import Querier
from reputation.report import CheckResult, Finding, Status

NXDOMAIN_FOR_EVERYTHING = "your resolver answers NXDOMAIN for everything"
REWRITES_NXDOMAIN = "your resolver rewrites NXDOMAIN"


@dataclass(frozen=True)
class Sanity:
    """The probe's verdict: `reason` is empty when negative answers can be believed."""

    reason: str = ""
    evidence: list[str] = field(default_factory=list)

    @property
    def trusted(self) -> bool:
        return not self.reason


def random_name(tld: str) -> str:
    """A name under `tld` that no zone holds: 20 random hex digits with a recognisable prefix."""
    return f"nonexistent-{secrets.token_hex(10)}.{tld.strip('.')}"


async def probe(resolver: Querier, tld: str) -> Sanity:
    """Ask `. NS` and a random name under `tld`; a failed probe question decides nothing."""
    root, bogus = await asyncio.gather(
        resolver.query(".", "NS"), resolver.query(random_name(tld), "A")
    )
    return judge(root, bogus)


def judge(root: Answer, bogus: Answer) -> Sanity:
    if root.outcome is Outcome.NXDOMAIN:
        return Sanity(
            f"{NXDOMAIN_FOR_EVERYTHING} (even the root '.'), so no 'does not exist' can be "
            "believed: ask another resolver (--nameserver)",
            [root.evidence()],
        )
    if bogus.ok:
        return Sanity(
            f"{REWRITES_NXDOMAIN} into an answer (a random name that cannot exist resolved), "
            "so no name can be shown not to exist: ask another resolver (--nameserver)",
            [bogus.evidence()],
        )
    return Sanity()


# Findings decided without asking the DNS: a resolver's lies cannot touch them.
NOT_FROM_DNS = frozenset(
    {"ip_not_global", "domain_reserved", "domain_public_suffix", "reserved_name", "rdap_skipped"}
)


def distrusted(checks: list[CheckResult], sanity: Sanity) -> list[CheckResult]:
    """With an untrusted resolver, every check that read its answers is `error`, with the
    reason, and its findings no longer count (what it would have said stays as evidence)."""
    if sanity.trusted:
        return checks
    return [check if _not_from_dns(check) else _undecided(check, sanity) for check in checks]


def _not_from_dns(check: CheckResult) -> bool:
    return check.status is Status.SKIP or all(
        f.code in NOT_FROM_DNS or f.status is Status.SKIP for f in check.findings
    )


def _undecided(check: CheckResult, sanity: Sanity) -> CheckResult:
    evidence = [*sanity.evidence, f"the check would have said: {check.summary}"]
    finding = Finding(Status.ERROR, sanity.reason, evidence, "check_incomplete")
    return CheckResult(
        check.id,
        Status.ERROR,
        sanity.reason,
        [finding],
        "Re-run through a resolver that "
        "answers honestly (--nameserver), e.g. your own recursive resolver.",
    )
