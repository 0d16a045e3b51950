"""The pipeline of one check: gather (all DNS, under one deadline), then assemble (pure).

A Session runs it for each sender; `gather` asks every requested check and blocklist through
the run's resolver, `assemble` folds policy listings into static_ip, predicts the providers'
verdicts and orders the fixes into a Report.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from reputation import blocklists, providers, remedies
from reputation.bounds import bounded_check
from reputation.checks import CHECKS, DESCRIPTIONS, static_ip
from reputation.context import DEFAULT_RDAP_URL, Context, Options
from reputation.dns.cache import Querier
from reputation.dns.deadline import backstop
from reputation.dns.resolver import DEFAULT_TIMEOUT, Resolver
from reputation.inputs import (
    BadInput,
    Domain,
    IPAddress,
    parse_ip,
    parse_options,
    parse_spf_sender,
    spf_domain,
)
from reputation.knowledge import reserved_suffix, special_range
from reputation.protocols import spf
from reputation.report import (
    BlocklistResult,
    CheckResult,
    Finding,
    ListingStatus,
    Report,
    Status,
    Target,
)

if TYPE_CHECKING:
    import httpx  # loaded by the RDAP lookup only

# Independent lookups run concurrently, and a dependent one (PTR, then its name's address)
# only follows an answer; this deadline is the backstop that keeps a whole check within
# 3 x timeout even when a server answers just slowly enough to chain timeouts.
DEADLINE_FACTOR = 2.6
DOMAIN_DNS_CHECKS = frozenset(check.id for check in DESCRIPTIONS if check.asks_domain_dns)
CHECK_IDS = tuple(module.ID for module in CHECKS)
BLOCKLISTS = "blocklists"
SELECTABLE = (*CHECK_IDS, BLOCKLISTS)
NOT_REQUESTED = "not requested"


def make_options(
    *,
    nameservers: Sequence[str | tuple[str, int]] = (),
    timeout: float = DEFAULT_TIMEOUT,
    rdap: bool = True,
    rdap_url: str = DEFAULT_RDAP_URL,
    rdap_transport: httpx.AsyncBaseTransport | None = None,
    dkim_selectors: Sequence[str] = (),
    providers: Sequence[str] = (),
    bulk: bool = False,
    blocklists_file: Path | None = None,
    lists: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Options:
    """Validated options; BadInput names the first value that cannot be used."""
    given = {
        "nameservers": nameservers,
        "timeout": timeout,
        "rdap": rdap,
        "rdap_url": rdap_url,
        "rdap_transport": rdap_transport,
        "dkim_selectors": dkim_selectors,
        "providers": providers,
        "bulk": bulk,
        "blocklists_file": blocklists_file,
        "lists": lists,
        "env": env,
    }
    return Options(**parse_options(given))


def requested_checks(names: Sequence[str] | None) -> frozenset[str]:
    """The check ids (and "blocklists") to run; None = all. BadInput names an unknown id."""
    if names is None:
        return frozenset(SELECTABLE)
    wanted = [name.strip().lower() for name in names]
    unknown = [name for name in wanted if name not in SELECTABLE]
    if unknown:
        raise BadInput(f"unknown check {unknown[0]!r}; known: {', '.join(SELECTABLE)}")
    if not wanted:
        raise BadInput("no check requested: name at least one")
    return frozenset(wanted)


def chosen_providers(opts: Options) -> list[providers.Provider]:
    known = providers.load_providers()
    if not opts.providers:
        return known
    try:
        return providers.select(known, opts.providers)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def chosen_lists(
    opts: Options, catalog: blocklists.Catalog | None = None
) -> list[blocklists.Blocklist]:
    try:
        catalog = catalog or blocklists.load_catalog(opts.blocklists_file)
        return catalog.select(opts.lists) if opts.lists else catalog.default()
    except blocklists.CatalogError as exc:
        raise BadInput(str(exc)) from None


@dataclass(frozen=True)
class Gathered:
    """What the DNS said, read by each check and list: everything `assemble` needs."""

    checks: list[CheckResult]
    listings: list[BlocklistResult]
    requested: frozenset[str]
    assumed_helo: str | None


async def gather(
    ctx: Context,
    requested: frozenset[str],
    lists: Sequence[blocklists.Blocklist],
    breaker: Breaker | None = None,
    *,
    shared: Querier | None = None,
    points: blocklists.TestPoints | None = None,
) -> Gathered:
    """Run the requested checks and lists concurrently; the others are `skip`, not requested.

    `shared`: the session's answer cache, which the lists are asked through (their questions
    are the lists' own, so the check's one-answer-per-question view adds nothing but tasks);
    `points`: the session's test-point answers."""
    modules, queried = _selected(requested, lists)
    asking = run_blocklists(ctx, queried, breaker, shared=shared, points=points)
    if not modules:  # a listing scan: no other check, no gather
        results, listings = [], await asking
    elif not queried:
        results, listings = await run_checks(ctx, modules), await asking
    else:
        results, listings = await asyncio.gather(run_checks(ctx, modules), asking)
    assumed = ctx.settled("assumed_helo") if ctx.helo is None else None
    return Gathered(_every_check(results), listings, requested, assumed)


async def not_started(
    ctx: Context, requested: frozenset[str], lists: Sequence[blocklists.Blocklist], why: str
) -> Gathered:
    """Every requested check and list `error` for `why`, without a DNS question."""
    modules, queried = _selected(requested, lists)
    listings = await run_blocklists(ctx, queried, _AskNothing(why))
    results = [incomplete(module.ID, why) for module in modules]
    return Gathered(_every_check(results), listings, requested, None)


def _selected(
    requested: frozenset[str], lists: Sequence[blocklists.Blocklist]
) -> tuple[list[ModuleType], Sequence[blocklists.Blocklist]]:
    """The check modules and the lists a run asks, by what was requested."""
    modules = [module for module in CHECKS if module.ID in requested]
    return modules, lists if BLOCKLISTS in requested else []


def _every_check(results: Sequence[CheckResult]) -> list[CheckResult]:
    """One result per check in catalog order: those not run are `skip`, not requested."""
    by_id = {result.id: result for result in results}
    return [by_id.get(module.ID) or not_requested(module.ID) for module in CHECKS]


class _AskNothing:
    """A breaker that lets no list be asked."""

    def __init__(self, why: str) -> None:
        self._why = why

    def allows(self, zone: str) -> bool:
        return False

    def why(self, zone: str) -> str:
        return self._why

    def record(self, zone: str, failed: bool, detail: str = "") -> None:
        pass


def incomplete(check_id: str, message: str) -> CheckResult:
    finding = Finding(Status.ERROR, message, [], "check_incomplete")
    return CheckResult(
        check_id, Status.ERROR, message, [finding], "Re-run; if it persists, report it."
    )


def not_requested(check_id: str) -> CheckResult:
    return CheckResult(
        check_id,
        Status.SKIP,
        NOT_REQUESTED,
        [Finding(Status.SKIP, NOT_REQUESTED, [], "not_requested")],
    )


def assemble(
    target: Target,
    gathered: Gathered,
    chosen: Sequence[providers.Provider],
    *,
    bulk: bool,
    started_at: str,
    duration_ms: int,
) -> Report:
    """The report of what was gathered: pure, no DNS."""
    consulted = {zone for p in providers.load_providers() for zone in p.uses_blocklists}
    lists_queried = BLOCKLISTS in gathered.requested
    checks = [
        static_ip.with_policy_listings(c, gathered.listings, consulted, lists_queried)
        if c.id == static_ip.ID
        else c
        for c in gathered.checks
    ]
    report = Report(
        target=target,
        started_at=started_at,
        duration_ms=duration_ms,
        checks=checks,
        blocklists=list(gathered.listings),
    )
    report = dataclasses.replace(report, providers=providers.evaluate(chosen, report, bulk=bulk))
    return dataclasses.replace(report, remedies=remedies.ordered(report))


def target_of(
    domain: Domain,
    ip: IPAddress,
    helo: str | None,
    assumed: str | None,
    from_domain: Domain | None = None,
) -> Target:
    return Target(
        domain=domain.unicode,
        domain_ascii=domain.ascii,
        ip=str(ip),
        helo=helo if helo is not None else assumed,
        helo_assumed=helo is None and assumed is not None,
        from_domain=(from_domain or domain).unicode,
    )


class Breaker(Protocol):
    """Stops asking a list that keeps failing (reputation.audit.breaker.ListsBreaker)."""

    def allows(self, zone: str) -> bool: ...
    def why(self, zone: str) -> str: ...
    def record(self, zone: str, failed: bool, detail: str = "") -> None: ...


async def run_blocklists(
    ctx: Context,
    lists: Sequence[blocklists.Blocklist],
    breaker: Breaker | None = None,
    *,
    shared: Querier | None = None,
    points: blocklists.TestPoints | None = None,
) -> list[BlocklistResult]:
    """Every list at once (one batch of questions), under one deadline.

    Domain lists are asked about the domain and, for a subdomain, its registrable domain too:
    URI lists such as SURBL and URIBL list registrable domains only. A reserved name is never
    asked about. A list the breaker has stopped is not asked: its results are errors. A list
    not done by the deadline is an error; the lists done by then keep their answers.
    """
    if not lists:
        return []
    domains: list[str | None] = [None]
    if not reserved_suffix(ctx.domain.ascii):
        domains = list(
            dict.fromkeys([ctx.domain.ascii, ctx.registrable_domain or ctx.domain.ascii])
        )
    # No list holds private or reserved addresses: asking would only look like a clean bill.
    ip = None if special_range(ctx.ip) else ctx.ip
    asks = [
        (entry, ip if i == 0 else None, domain)
        for entry in lists
        for i, domain in enumerate(domains)
    ]
    done: list[list[BlocklistResult] | None] = [None] * len(asks)
    env = ctx.options.env if ctx.options.env is not None else os.environ
    resolver = shared or ctx.resolver
    allowed: list[int] = []
    for index, (entry, ip, domain) in enumerate(asks):
        if breaker is not None and not breaker.allows(entry.zone):
            done[index] = blocklists.unanswered(entry, ip, domain, breaker.why(entry.zone))
        else:
            allowed.append(index)
    asked: list[list[BlocklistResult] | None] = [None] * len(allowed)
    deadline = ctx.options.timeout * DEADLINE_FACTOR
    why = f"not completed within {deadline:g}s"
    try:
        async with backstop(deadline):
            await blocklists.lookup_many(resolver, [asks[i] for i in allowed], env, points, asked)
    except TimeoutError:
        pass
    except Exception as exc:  # a defect must cost the lists, not the report
        why = f"internal error: {type(exc).__name__}: {exc}"
    for index, results in zip(allowed, asked, strict=True):
        entry, ip, domain = asks[index]
        done[index] = (
            results if results is not None else blocklists.unanswered(entry, ip, domain, why)
        )
        if breaker is not None and done[index]:
            _tell(breaker, entry, done[index])  # type: ignore[arg-type]
    return [result for batch in done if batch is not None for result in batch]


def _tell(breaker: Breaker, entry: blocklists.Blocklist, results: list[BlocklistResult]) -> None:
    failed = [r for r in results if r.status in (ListingStatus.ERROR, ListingStatus.REFUSED)]
    breaker.record(entry.zone, bool(failed), failed[0].detail if failed else "")


async def run_checks(ctx: Context, modules: Sequence[ModuleType]) -> list[CheckResult]:
    deadline = ctx.options.timeout * DEADLINE_FACTOR
    return list(await asyncio.gather(*(_run_one(m, ctx, deadline) for m in modules)))


async def _run_one(module: ModuleType, ctx: Context, deadline: float) -> CheckResult:
    subject = ctx.author if module.CHECK.judges_from_domain else ctx.domain
    reserved = reserved_suffix(subject.ascii)
    if reserved is not None and module.ID in DOMAIN_DNS_CHECKS:
        # No DNS traffic about a name that cannot exist; legit_domain reports why.
        message = f"not checked: {subject.ascii} is {reserved.why}"
        return CheckResult(
            module.ID, Status.SKIP, message, [Finding(Status.SKIP, message, [], "reserved_name")]
        )
    try:
        async with backstop(deadline):
            return bounded_check(await module.run(ctx))
    except TimeoutError:
        message = f"not completed within {deadline:g}s: DNS answers too slow"
    except Exception as exc:  # a defect in one check must not take the report down
        message = f"internal error: {type(exc).__name__}: {exc}"
    return incomplete(module.ID, message)


def list_health(
    lists: Sequence[blocklists.Blocklist], nameservers: Sequence[str], timeout: float
) -> list[blocklists.Health]:
    """RFC 5782 test points of each list, through the given (or the system's) resolver."""
    opts = make_options(nameservers=list(nameservers), timeout=timeout)
    resolver = Resolver(nameservers=opts.nameservers, timeout=opts.timeout)
    return asyncio.run(blocklists.health(resolver, lists, os.environ))


def explain_spf(
    ip: str, sender: str | None, helo: str | None, nameservers: Sequence[str], timeout: float
) -> spf.SpfResult:
    """One SPF evaluation with its decision path; the HELO identity when sender is empty."""
    opts = make_options(nameservers=list(nameservers), timeout=timeout)
    address = parse_ip(ip)
    sender = _spf_sender(sender)
    if sender is None and not (helo or "").strip():
        raise BadInput("give --sender ADDRESS or --helo NAME: SPF needs an identity to check")
    literal_helo = helo is not None and helo.strip().startswith("[")
    if helo is not None and not literal_helo:
        helo = spf_domain(helo)
    if sender is None and literal_helo:
        # RFC 7208 §2.3: an address-literal HELO has no domain to check.
        return spf.SpfResult(spf.SpfCode.NONE, "helo", helo or "", "the HELO is an address literal")
    resolver = Resolver(nameservers=opts.nameservers, timeout=opts.timeout)
    return asyncio.run(spf.evaluate(resolver, address, sender, helo))


def _spf_sender(sender: str | None) -> str | None:
    """MAIL FROM as given: an address, a bare domain, or empty / <> for the null sender."""
    return parse_spf_sender(sender)
