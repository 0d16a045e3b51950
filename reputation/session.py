"""A Session: one resolver and one answer cache shared by every check it runs.

    async with Session(nameservers=["127.0.0.1:5353"], timeout=5.0, rdap=False) as session:
        report = await session.check("example.org", "203.0.113.25", checks=["helo_ptr"])

Answers are reused within their TTL across senders, so each blocklist's RFC 5782 test points
are asked once per session (again when their TTL runs out), not once per sender.
`check()` and `check_async()` are one-shot sessions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
import weakref
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from reputation import engine
from reputation.blocklists import Catalog, TestPoints
from reputation.context import DEFAULT_RDAP_URL, Context, Options
from reputation.dns.cache import DEFAULT_MAX_ENTRIES, AnswerCache, Querier
from reputation.dns.deadline import backstop
from reputation.dns.resolver import DEFAULT_TIMEOUT, Resolver
from reputation.inputs import (
    Domain,
    IPAddress,
    parse_domain,
    parse_helo,
    parse_ip,
    parse_options,
)
from reputation.report import Report
from reputation.sanity import Sanity, distrusted, probe

if TYPE_CHECKING:
    import httpx  # loaded by the RDAP lookup only

MAX_REMEMBERED_DOMAINS = 4096
P = ParamSpec("P")
R = TypeVar("R")


class Session:
    """Checks many senders through one resolver and one cache; see the module doc.

    `resolver`: anything with `async query(name, rdtype) -> Answer` to ask instead of a
    Resolver on `nameservers` (the session does not close it). `catalog`: a loaded blocklist
    catalog instead of `blocklists_file`. `lists_breaker`: stops asking a list that keeps
    failing (see reputation.audit.breaker). Bad input raises BadInput here, before any check.
    """

    def __init__(
        self,
        *,
        nameservers: Sequence[str | tuple[str, int]] = (),
        timeout: float = DEFAULT_TIMEOUT,
        rdap: bool = True,
        rdap_url: str = DEFAULT_RDAP_URL,
        rdap_transport: httpx.AsyncBaseTransport | None = None,
        blocklists_file: Path | None = None,
        catalog: Catalog | None = None,
        lists: Sequence[str] = (),
        providers: Sequence[str] = (),
        bulk: bool = False,
        env: Mapping[str, str] | None = None,
        resolver: Querier | None = None,
        cache_size: int = DEFAULT_MAX_ENTRIES,
        lists_breaker: engine.Breaker | None = None,
    ) -> None:
        self.options = engine.make_options(
            nameservers=nameservers,
            timeout=timeout,
            rdap=rdap,
            rdap_url=rdap_url,
            rdap_transport=rdap_transport,
            providers=providers,
            bulk=bulk,
            blocklists_file=blocklists_file,
            lists=lists,
            env=env,
        )
        self.providers = engine.chosen_providers(self.options)
        self.lists = engine.chosen_lists(self.options, catalog)
        self._owned: Resolver | None = None
        if resolver is None:
            # The cache does the sharing, so the resolver keeps no answers of its own.
            resolver = self._owned = Resolver(
                nameservers=self.options.nameservers, timeout=self.options.timeout, memoise=False
            )
        self.cache = AnswerCache(resolver, max_entries=cache_size)
        # Asked past the cache, so that a pair is kept exactly as long as its TTLs allow.
        self.points = TestPoints(resolver)
        self.breaker = lists_breaker
        self._closed = False
        self._sanity: dict[str, asyncio.Task[Sanity]] = {}  # per TLD, asked once per session
        self._domains: dict[str, Domain] = {}

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancel what is still in flight; the session cannot check after this."""
        self._closed = True
        for task in self._sanity.values():
            task.cancel()
        await asyncio.gather(*self._sanity.values(), return_exceptions=True)
        await self.points.aclose()
        await self.cache.aclose()
        if self._owned is not None:
            await self._owned.aclose()

    async def check(
        self,
        domain: str,
        ip: str,
        helo: str | None = None,
        checks: Sequence[str] | None = None,
        *,
        dkim_selectors: Sequence[str] = (),
        from_domain: str | None = None,
    ) -> Report:
        """Check one sender. `checks`: check ids (and "blocklists") to run; None = all.
        `from_domain`: the From domain when it is not `domain` (then the envelope domain, which
        SPF judges); DMARC, DKIM and the provider rules about them judge it.

        The checks not run are in the report as `skip`, "not requested"; provider rules that
        depend on them are `unknown`. Raises BadInput naming a value that cannot be used.
        """
        if self._closed:
            raise RuntimeError("the session is closed")
        target_domain, target_ip, helo = self._domain(domain), parse_ip(ip), parse_helo(helo)
        author = parse_domain(from_domain) if from_domain is not None else None
        requested = engine.requested_checks(checks)
        options = self.options
        if dkim_selectors:
            selectors = parse_options({"dkim_selectors": dkim_selectors})["dkim_selectors"]
            options = dataclasses.replace(self.options, dkim_selectors=selectors)
        gate = _admission()
        deadline = options.timeout * engine.DEADLINE_FACTOR
        try:
            # Waiting for a turn counts against the deadline only while no DNS answers arrive.
            async with backstop(deadline):
                await gate.acquire()
        except TimeoutError:
            why = f"not started within {deadline:g}s: no DNS answer came while it waited its turn"
            return await self._check(
                target_domain, target_ip, helo, requested, options, author, not_started=why
            )
        try:
            return await self._check(target_domain, target_ip, helo, requested, options, author)
        finally:
            gate.release()

    async def _check(
        self,
        target_domain: Domain,
        target_ip: IPAddress,
        helo: str | None,
        requested: frozenset[str],
        options: Options,
        author: Domain | None,
        not_started: str | None = None,
    ) -> Report:
        started_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        clock = time.monotonic()
        run = self.cache.for_run()
        ctx = Context(target_domain, target_ip, helo, run, options, from_domain=author)
        # Only the checks read what the probe judges: a listing scan does not need it.
        probed = requested != {engine.BLOCKLISTS} and not_started is None
        sanity = self._sanity_for(target_domain.ascii.rsplit(".", 1)[-1]) if probed else None
        if not_started is not None:
            gathered = await engine.not_started(ctx, requested, self.lists, not_started)
        else:
            try:
                gathered = await engine.gather(
                    ctx, requested, self.lists, self.breaker, shared=self.cache, points=self.points
                )
                checks = gathered.checks
                if sanity is not None:
                    deadline = options.timeout * engine.DEADLINE_FACTOR
                    judged = await _in_time(sanity, deadline - (time.monotonic() - clock))
                    checks = distrusted(checks, judged) if judged is not None else checks
            finally:
                await run.aclose()
            gathered = dataclasses.replace(gathered, checks=checks)
        return engine.assemble(
            engine.target_of(target_domain, target_ip, helo, gathered.assumed_helo, author),
            gathered,
            self.providers,
            bulk=self.options.bulk,
            started_at=started_at,
            duration_ms=round((time.monotonic() - clock) * 1000),
        )

    def _domain(self, text: str) -> Domain:
        """`text` parsed (BadInput if it cannot be used); remembered, since a fleet's senders
        share few domains (an ESP's range: one domain, thousands of addresses)."""
        known = self._domains.get(text)
        if known is None:
            known = parse_domain(text)
            if len(self._domains) >= MAX_REMEMBERED_DOMAINS:
                self._domains.clear()
            self._domains[text] = known
        return known

    def _sanity_for(self, tld: str) -> asyncio.Task[Sanity]:
        """Can this resolver's "does not exist" be believed? Asked once per TLD and session."""
        task = self._sanity.get(tld)
        if task is None:
            task = self._sanity[tld] = asyncio.ensure_future(probe(self.cache, tld))
        return task


async def check_async(
    domain: str,
    ip: str,
    helo: str | None = None,
    *,
    checks: Sequence[str] | None = None,
    nameservers: Sequence[str | tuple[str, int]] = (),
    timeout: float = DEFAULT_TIMEOUT,
    rdap: bool = True,
    rdap_url: str = DEFAULT_RDAP_URL,
    rdap_transport: httpx.AsyncBaseTransport | None = None,
    dkim_selectors: Sequence[str] = (),
    from_domain: str | None = None,
    providers: Sequence[str] = (),
    bulk: bool = False,
    blocklists_file: Path | None = None,
    catalog: Catalog | None = None,
    lists: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    resolver: Querier | None = None,
) -> Report:
    """Check that `domain` may send mail from `ip` (greeting as `helo`): a one-shot Session.

    Raises BadInput naming a value that cannot be used.
    """
    async with Session(
        nameservers=nameservers,
        timeout=timeout,
        rdap=rdap,
        rdap_url=rdap_url,
        rdap_transport=rdap_transport,
        blocklists_file=blocklists_file,
        catalog=catalog,
        lists=lists,
        providers=providers,
        bulk=bulk,
        env=env,
        resolver=resolver,
    ) as session:
        return await session.check(
            domain, ip, helo, checks, dkim_selectors=dkim_selectors, from_domain=from_domain
        )


def _synchronous(coroutine: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """The synchronous twin of `coroutine`, with the same (typed) parameters."""

    @functools.wraps(coroutine)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return asyncio.run(coroutine(*args, **kwargs))

    return run


check = _synchronous(check_async)


async def _in_time(sanity: asyncio.Task[Sanity], seconds: float) -> Sanity | None:
    """The probe's judgement if it comes within the check's deadline; None decides nothing."""
    try:
        async with backstop(max(seconds, 0.0)):
            return await asyncio.shield(sanity)
    except TimeoutError:
        return None


# Checks gathering at once in one event loop; more wait their turn before they start (and
# before their deadline starts). A thousand checks started together then hold a thousand small
# waits, not a thousand sets of questions queued behind the in-flight limit: memory stays
# bounded, and the DNS engine is kept just as busy.
CHECKS_AT_ONCE = 64
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _admission() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(CHECKS_AT_ONCE)
    return gate
