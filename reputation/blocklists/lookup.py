"""Asking a list about an IP or domain, and believing the answer only as far as the list's
RFC 5782 test points allow: a listing only if the negative test point is not listed, a clean
answer only if the positive test point still is."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from reputation.blocklists.catalog import Blocklist
from reputation.blocklists.names import ascii_domain, point_name, query_name
from reputation.blocklists.reading import LISTS_EVERYTHING, LOOKS_EMPTY, Reading, interpret
from reputation.bounds import MAX_EVIDENCE_LINES, shorten
from reputation.dns.cache import Querier
from reputation.dns.resolver import Answer
from reputation.inputs import IPAddress
from reputation.redaction import redact
from reputation.report import BlocklistResult, ListingStatus


async def lookup(
    resolver: Querier,
    blocklist: Blocklist,
    ip: IPAddress | None,
    domain: str | None,
    env: Mapping[str, str],
) -> list[BlocklistResult]:
    """One result per subject of `blocklist` that applies to `ip` / `domain`."""
    targets = _targets(blocklist, ip, domain)
    if blocklist.requires_key and blocklist.key_env and not blocklist.key(env):
        return [_skipped(blocklist, subject, text) for subject, text in targets]
    if len(targets) == 1:  # the usual case: no gather, no extra task
        return [await _lookup_one(resolver, blocklist, *targets[0], env)]
    asks = (_lookup_one(resolver, blocklist, subject, text, env) for subject, text in targets)
    return list(await asyncio.gather(*asks))


def unanswered(
    blocklist: Blocklist, ip: IPAddress | None, domain: str | None, detail: str
) -> list[BlocklistResult]:
    """An error result for each subject of a lookup that could not be completed."""
    reading = Reading(ListingStatus.ERROR, detail=detail, remedy="re-run when the list answers")
    return [
        _result(blocklist, subject, text, reading)
        for subject, text in _targets(blocklist, ip, domain)
    ]


def _targets(
    blocklist: Blocklist, ip: IPAddress | None, domain: str | None
) -> list[tuple[str, str]]:
    targets: list[tuple[str, str]] = []
    if ip is not None and f"ip{ip.version}" in blocklist.subject:
        targets.append((f"ip{ip.version}", str(ip)))
    if domain and blocklist.subjects_domain:
        targets.append(("domain", ascii_domain(domain)))
    return targets


def _skipped(blocklist: Blocklist, subject: str, text: str) -> BlocklistResult:
    return _result(
        blocklist,
        subject,
        text,
        Reading(
            ListingStatus.SKIPPED,
            detail=f"not queried: needs a key in {blocklist.key_env} ({blocklist.access})",
            remedy=f"set {blocklist.key_env} to use this list",
        ),
    )


async def _lookup_one(
    resolver: Querier, blocklist: Blocklist, subject: str, text: str, env: Mapping[str, str]
) -> BlocklistResult:
    zone = blocklist.effective_zone(env)
    name = f"{query_name(text, subject)}.{zone}"
    answer, negative, positive = await asyncio.gather(
        resolver.query(name, "A"),
        ask_point(resolver, blocklist.negative_test_point, zone),
        ask_point(resolver, blocklist.test_listed, zone),
    )
    reading = interpret(blocklist, answer, key_used=blocklist.key(env) is not None)
    reading = _check_negative(blocklist, reading, negative)
    reading = _check_positive(blocklist, reading, positive)
    reading = _check_retired(blocklist, reading)
    txt: list[str] = []
    if reading.status in (ListingStatus.LISTED, ListingStatus.REFUSED) and answer.ok:
        txt = (await resolver.query(name, "TXT")).records
    return _result(blocklist, subject, text, reading, txt)


async def ask_point(resolver: Querier, point: str, zone: str) -> Answer | None:
    if not point:
        return None
    return await resolver.query(point_name(point, zone), "A")


def _check_negative(blocklist: Blocklist, reading: Reading, negative: Answer | None) -> Reading:
    """A listing is only believed when the RFC 5782 negative test point is not listed."""
    if reading.status is not ListingStatus.LISTED or negative is None:
        return reading
    point = blocklist.negative_test_point
    if _answers_everything(blocklist, negative):
        detail = (
            f"{LISTS_EVERYTHING}: the RFC 5782 negative test point {point} is listed"
            " — dead or wildcarded list"
        )
        remedy = "do not use this list; it answers for names it must not list"
        return Reading(ListingStatus.ERROR, reading.codes, detail=detail, remedy=remedy)
    if negative.absent:
        return reading
    why = interpret(blocklist, negative).detail or negative.evidence()
    detail = (
        f"{reading.detail}; but its RFC 5782 negative test point {point} could not be checked"
        f" ({why}), so a wildcard cannot be ruled out"
    )
    return Reading(ListingStatus.ERROR, reading.codes, reading.meanings, reading.severity, detail)


def _check_positive(blocklist: Blocklist, reading: Reading, positive: Answer | None) -> Reading:
    """A clean answer is only believed when the list still lists its RFC 5782 positive test point.

    An emptied or dead zone answers NXDOMAIN for everything, which would read as "clean".
    """
    if reading.status is not ListingStatus.CLEAN or positive is None or positive.ok:
        return reading
    if positive.unverified:
        detail = (
            f"not listed, but its RFC 5782 test point {blocklist.test_listed} could not be checked"
            f" ({positive.evidence()}), so the list may be dead"
        )
        return Reading(ListingStatus.ERROR, detail=detail, remedy="re-run when the list answers")
    detail = (
        f"{LOOKS_EMPTY}: its RFC 5782 test point {blocklist.test_listed} is not listed either,"
        " so a clean answer proves nothing"
    )
    return Reading(
        ListingStatus.ERROR,
        detail=detail,
        remedy="do not rely on this list; check `reputation lists --health`",
    )


def _answers_everything(blocklist: Blocklist, negative: Answer) -> bool:
    """The negative test point got an A answer that is not a refusal."""
    if not negative.ok:
        return False
    return interpret(blocklist, negative).status in (ListingStatus.LISTED, ListingStatus.ERROR)


def _check_retired(blocklist: Blocklist, reading: Reading) -> Reading:
    if not blocklist.retired or reading.status is not ListingStatus.LISTED:
        return reading
    since = f" since {blocklist.status_date}" if blocklist.status_date else ""
    detail = (
        f"retired list{since}: {blocklist.status_note or 'no longer maintained'};"
        f" its answer ({', '.join(reading.codes)}) is not a listing"
    )
    return Reading(ListingStatus.ERROR, reading.codes, detail=detail, remedy="stop querying it")


def _result(
    blocklist: Blocklist, subject: str, text: str, reading: Reading, txt: list[str] | None = None
) -> BlocklistResult:
    return BlocklistResult(
        zone=blocklist.zone,
        name=blocklist.name,
        subject="domain" if subject == "domain" else "ip",
        query=text,
        status=reading.status,
        codes=list(reading.codes),
        meanings=list(reading.meanings),
        severity=reading.severity,
        txt=[shorten(redact(line)) for line in (txt or [])[:MAX_EVIDENCE_LINES]],
        removal_url=blocklist.removal_for(text),
        detail=shorten(redact(reading.detail)),
        list_id=blocklist.id,
        remedy=redact(reading.remedy),
    )
