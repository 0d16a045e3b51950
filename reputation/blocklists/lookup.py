"""Asking a list about an IP or domain, and believing the answer only as far as the list's
RFC 5782 test points allow: a listing only if the negative test point is not listed, a clean
answer only if the positive test point still is."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from reputation.blocklists.catalog import Blocklist
from reputation.blocklists.names import ascii_domain, query_name
from reputation.blocklists.points import Points, TestPoints, ask_point
from reputation.blocklists.reading import LISTS_EVERYTHING, LOOKS_EMPTY, Reading, interpret
from reputation.bounds import MAX_EVIDENCE_LINES, shorten
from reputation.dns.cache import Querier, query_many
from reputation.dns.resolver import Answer
from reputation.inputs import IPAddress
from reputation.redaction import redact
from reputation.report import BlocklistResult, ListingStatus

__all__ = ["ask_point", "lookup", "lookup_many", "unanswered"]


_SUBJECT = {4: "ip4", 6: "ip6"}
Ask = tuple[Blocklist, IPAddress | None, str | None]


async def lookup(
    resolver: Querier,
    blocklist: Blocklist,
    ip: IPAddress | None,
    domain: str | None,
    env: Mapping[str, str],
    points: TestPoints | None = None,
) -> list[BlocklistResult]:
    """One result per subject of `blocklist` that applies to `ip` / `domain`.

    `points`: the session's test-point answers; None asks them through `resolver` for this
    lookup alone."""
    done: list[list[BlocklistResult] | None] = [None]
    await lookup_many(resolver, [(blocklist, ip, domain)], env, points, done)
    return done[0] or []


async def lookup_many(
    resolver: Querier,
    asks: Sequence[Ask],
    env: Mapping[str, str],
    points: TestPoints | None,
    done: list[list[BlocklistResult] | None],
) -> None:
    """`done[i]`: the results of `asks[i]` (a list, an IP, a domain), filled in as each is known.

    The A questions of every ask go out as one batch, the TXT questions of the listings as a
    second: no task or future per question. A caller that gives up early keeps what is filled."""
    pending = _plan(asks, env, points or TestPoints(resolver), done)
    answers = await query_many(resolver, [(p.name, "A") for p in pending])
    for item, answer in zip(pending, answers, strict=True):
        tested = item.points
        if not isinstance(tested, Points):  # still being asked: shared, so shielded
            tested = await asyncio.shield(tested)
        item.read(answer, tested, env)
    by_ask = _by_ask(pending)
    for index, items in by_ask.items():  # final already: kept even if the TXT round is cut short
        if not any(item.wants_txt for item in items):
            done[index] = [item.result() for item in items]
    listed = [p for p in pending if p.wants_txt]
    if listed:
        texts = await query_many(resolver, [(p.name, "TXT") for p in listed])
        for item, text in zip(listed, texts, strict=True):
            item.txt = text.records
        for index in {item.index for item in listed}:
            done[index] = [item.result() for item in by_ask[index]]


def _plan(
    asks: Sequence[Ask],
    env: Mapping[str, str],
    points: TestPoints,
    done: list[list[BlocklistResult] | None],
) -> list[_Pending]:
    """The questions to ask; asks that need none (no key, no subject) are filled in now."""
    pending: list[_Pending] = []
    texts: dict[IPAddress, str] = {}
    for index, (blocklist, ip, domain) in enumerate(asks):
        targets = _targets(blocklist, ip, domain, texts)
        if blocklist.requires_key and blocklist.key_env and not blocklist.key(env):
            done[index] = [_skipped(blocklist, subject, text) for subject, text in targets]
        elif not targets:
            done[index] = []
        else:
            zone = blocklist.effective_zone(env)
            known = points.known_or_asked(blocklist, zone)  # asked while the answers are awaited
            for subject, text in targets:
                name = f"{query_name(text, subject)}.{zone}"
                pending.append(_Pending(index, blocklist, subject, text, name, known))
    return pending


class _Pending:
    """One question to one list about one subject, on its way to a `BlocklistResult`."""

    __slots__ = (
        "answered",
        "blocklist",
        "index",
        "name",
        "points",
        "reading",
        "subject",
        "text",
        "txt",
    )

    def __init__(
        self,
        index: int,
        blocklist: Blocklist,
        subject: str,
        text: str,
        name: str,
        points: Points | asyncio.Task[Points],
    ) -> None:
        self.index = index
        self.blocklist = blocklist
        self.subject = subject
        self.text = text
        self.name = name
        self.points = points
        self.reading: Reading | None = None
        self.answered = False
        self.txt: list[str] = []

    def read(self, answer: Answer, tested: Points, env: Mapping[str, str]) -> None:
        blocklist = self.blocklist
        try:
            reading = interpret(blocklist, answer, key_used=blocklist.key(env) is not None)
            reading = _check_negative(blocklist, reading, tested.negative)
            reading = _check_positive(blocklist, reading, tested.positive)
            self.reading = _check_retired(blocklist, reading)
        except Exception as exc:  # a defect must cost one list, not the report
            detail = f"internal error: {type(exc).__name__}: {exc}"
            remedy = "re-run; if it persists, report it"
            self.reading = Reading(ListingStatus.ERROR, detail=detail, remedy=remedy)
        self.answered = answer.ok

    @property
    def wants_txt(self) -> bool:
        """A listing (or a refusal) that came as records: its TXT says why."""
        status = self.reading.status if self.reading is not None else None
        return status in (ListingStatus.LISTED, ListingStatus.REFUSED) and self.answered

    def result(self) -> BlocklistResult:
        assert self.reading is not None
        return _result(self.blocklist, self.subject, self.text, self.reading, self.txt)


def _by_ask(pending: Sequence[_Pending]) -> dict[int, list[_Pending]]:
    grouped: dict[int, list[_Pending]] = {}
    for item in pending:
        grouped.setdefault(item.index, []).append(item)
    return grouped


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
    blocklist: Blocklist,
    ip: IPAddress | None,
    domain: str | None,
    texts: dict[IPAddress, str] | None = None,
) -> list[tuple[str, str]]:
    """(subject, text) pairs; `texts` keeps each address's text for the lookups of one batch."""
    targets: list[tuple[str, str]] = []
    if ip is not None and _SUBJECT[ip.version] in blocklist.subject:
        text = texts.get(ip) if texts is not None else None
        if text is None:
            text = str(ip)
            if texts is not None:
                texts[ip] = text
        targets.append((_SUBJECT[ip.version], text))
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
