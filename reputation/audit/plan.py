"""Before a run: how many targets, and whether the planned queries exceed a list's free use.

Counting reads the target files once more (cheaply: a range counts by its size); standard
input cannot be read twice, so a run from `-` is neither counted nor checked in advance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reputation.audit.shard import Shard
from reputation.audit.targets import AuditTarget, read_targets
from reputation.blocklists import Blocklist


@dataclass
class Plan:
    targets: int = 0
    ipv4: int = 0
    ipv6: int = 0
    domains: set[str] = field(default_factory=set)


def count(sources: Sequence[str], shard: Shard) -> Plan | None:
    """The targets this host will check; None when a source is standard input."""
    if "-" in sources:
        return None
    plan = Plan()
    seen_domains = plan.domains
    for item in read_targets(sources):
        if not isinstance(item, AuditTarget) or not shard.holds(item.key):
            continue
        plan.targets += 1
        if ":" not in item.ip:  # read_targets writes addresses as parse_ip does
            plan.ipv4 += 1
        else:
            plan.ipv6 += 1
        seen_domains.add(item.domain)
    return plan


def queries_for(blocklist: Blocklist, plan: Plan) -> int:
    """Queries this run sends the list: one per subject asked, plus its two test points.

    A domain list is asked about the domain and, for a subdomain, its registrable domain too;
    counting two per domain is the upper bound.
    """
    asked = 0
    if "ip4" in blocklist.subject:
        asked += plan.ipv4
    if "ip6" in blocklist.subject:
        asked += plan.ipv6
    if blocklist.subjects_domain:
        asked += 2 * len(plan.domains)
    return asked + 2 if asked else 0


def over_free_use(lists: Sequence[Blocklist], plan: Plan) -> list[str]:
    """One warning per list whose documented free-use daily limit this run alone exceeds."""
    warnings = []
    for blocklist in lists:
        limit = blocklist.free_queries_per_day
        planned = queries_for(blocklist, plan)
        if limit and planned > limit:
            warnings.append(
                f"warning: this run sends about {planned:,} queries to {blocklist.zone};"
                f" its free use allows {limit:,} a day ({blocklist.access_source})."
                " Use your own data feed or key, or split the run (--shard) over several days."
            )
    return warnings
