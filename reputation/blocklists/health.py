"""Health of the lists themselves: which lists work from this resolver (RFC 5782 test points)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reputation.blocklists.catalog import LOOPBACK, Blocklist
from reputation.blocklists.lookup import ask_point
from reputation.blocklists.reading import a_values
from reputation.dns.cache import Querier
from reputation.dns.resolver import Answer, Outcome
from reputation.redaction import redact


@dataclass
class Health:
    zone: str
    name: str
    status: str  # ok, dead, lists_everything, drops_queries, refuses, error or untestable
    detail: str
    list_id: str = ""


async def health(
    resolver: Querier, lists: Sequence[Blocklist], env: Mapping[str, str] | None = None
) -> list[Health]:
    """Ask every list its RFC 5782 test points, concurrently, and say whether it can be used."""
    return list(await asyncio.gather(*(_health_one(resolver, b, env or {}) for b in lists)))


async def _health_one(resolver: Querier, blocklist: Blocklist, env: Mapping[str, str]) -> Health:
    positive_point, negative_point = blocklist.test_listed, blocklist.negative_test_point
    if not positive_point and not negative_point:
        status, detail = "untestable", "the list documents no RFC 5782 test points"
    else:
        zone = blocklist.effective_zone(env)
        positive, negative = await asyncio.gather(
            ask_point(resolver, positive_point, zone), ask_point(resolver, negative_point, zone)
        )
        status, detail = _judge(blocklist, (positive_point, positive), (negative_point, negative))
    if blocklist.retired:
        since = f" since {blocklist.status_date}" if blocklist.status_date else ""
        detail = f"retired list{since}; {detail}"
    return Health(blocklist.zone, blocklist.name, status, redact(detail), blocklist.id)


PointAnswer = tuple[str, Answer | None]  # a test point and what it got


def _judge(blocklist: Blocklist, positive: PointAnswer, negative: PointAnswer) -> tuple[str, str]:
    probes = [("positive", *positive), ("negative", *negative)]
    asked = [(label, point, answer) for label, point, answer in probes if answer is not None]
    verdict = _judge_transport(asked) or _judge_codes(blocklist, asked)
    return verdict or _judge_points(positive, negative)


def _judge_transport(asked: list[tuple[str, str, Answer]]) -> tuple[str, str] | None:
    for outcome, status in ((Outcome.TIMEOUT, "drops_queries"), (Outcome.REFUSED, "refuses")):
        for label, point, answer in asked:
            if answer.outcome is outcome:
                return status, f"{label} test point {point}: {answer.evidence()}"
    for label, point, answer in asked:
        if answer.unverified:
            return "error", f"{label} test point {point}: {answer.evidence()}"
    return None


def _judge_codes(
    blocklist: Blocklist, asked: list[tuple[str, str, Answer]]
) -> tuple[str, str] | None:
    for label, point, answer in asked:
        for value in a_values(answer):
            error = blocklist.error_for(value)
            if error is not None:
                status = "refuses" if error.kind == "refused" else "error"
                return status, f"{label} test point {point} answered {value}: {error.meaning}"
    return None


def _judge_points(positive: PointAnswer, negative: PointAnswer) -> tuple[str, str]:
    (positive_point, positive_answer), (negative_point, negative_answer) = positive, negative
    if negative_answer is not None and negative_answer.ok:
        values = ", ".join(str(v) for v in a_values(negative_answer))
        return "lists_everything", (
            f"the RFC 5782 negative test point {negative_point} is listed (A {values})"
            " — dead or wildcarded list"
        )
    if positive_answer is None:
        return "untestable", (
            f"negative test point {negative_point} is not listed (good), but the list documents"
            " no positive test point, so a working list cannot be told from an empty one"
        )
    if positive_answer.absent:
        return "dead", (
            f"positive test point {positive_point} is not listed: the zone looks empty"
            " (shut down, or the test point is not served)"
        )
    outside = [v for v in a_values(positive_answer) if v not in LOOPBACK]
    if outside:
        return "error", f"positive test point {positive_point} answered {outside[0]}, outside 127/8"
    if negative_answer is None:
        return "untestable", (
            f"positive test point {positive_point} is listed, but the list documents no negative"
            " test point, so a working list cannot be told from a wildcard"
        )
    return "ok", f"test point {positive_point} listed, {negative_point} not listed"
