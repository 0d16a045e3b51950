"""Running a check: parse the target, run every check concurrently under one deadline, report."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from reputation import blocklists, facts, providers, remedies
from reputation.checks import CHECKS, static_ip
from reputation.context import Context, Options
from reputation.dns.deadline import backstop
from reputation.dns.resolver import Resolver
from reputation.inputs import (
    BadInput,
    IPAddress,
    parse_domain,
    parse_helo,
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
    Report,
    Status,
    Target,
)

# Independent lookups run concurrently, and a dependent one (PTR, then its name's address)
# only follows an answer; this deadline is the backstop that keeps a whole check within
# 3 x timeout even when a server answers just slowly enough to chain timeouts.
DEADLINE_FACTOR = 2.6
DOMAIN_DNS_CHECKS = frozenset({"mx", "spf", "dmarc", "dkim"})


def make_options(**options: Any) -> Options:
    return Options(**parse_options(options))


async def check_async(domain: str, ip: str, helo: str | None = None, **options: Any) -> Report:
    """Check that `domain` may send mail from `ip` (greeting as `helo`). Raises BadInput."""
    opts = make_options(**options)
    target_domain, target_ip, helo = parse_domain(domain), parse_ip(ip), parse_helo(helo)
    chosen_providers = _chosen_providers(opts)
    chosen_lists = _chosen_lists(opts)
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    resolver = Resolver(nameservers=opts.nameservers, timeout=opts.timeout)
    ctx = Context(target_domain, target_ip, helo, resolver, opts)
    try:
        checks, listings = await asyncio.gather(
            run_checks(ctx, CHECKS), run_blocklists(ctx, chosen_lists)
        )
    finally:
        await resolver.aclose()
    consulted = {zone for p in providers.load_providers() for zone in p.uses_blocklists}
    checks = [
        static_ip.with_policy_listings(c, listings, consulted) if c.id == static_ip.ID else c
        for c in checks
    ]
    assumed = None
    if helo is None and "assumed_helo" in ctx._once and ctx._once["assumed_helo"].done():
        assumed = await facts.assumed_helo(ctx)  # known already: the checks asked for it
    target = Target(
        domain=target_domain.unicode,
        domain_ascii=target_domain.ascii,
        ip=str(target_ip),
        helo=helo if helo is not None else assumed,
        helo_assumed=helo is None and assumed is not None,
    )
    report = Report(
        target=target,
        started_at=started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_ms=0,
        checks=checks,
        blocklists=listings,
    )
    report.providers = providers.evaluate(chosen_providers, report, bulk=opts.bulk)
    report.remedies = remedies.ordered(report)
    report.duration_ms = round((time.monotonic() - clock) * 1000)
    return report


def _chosen_providers(opts: Options) -> list[providers.Provider]:
    known = providers.load_providers()
    if not opts.providers:
        return known
    try:
        return providers.select(known, opts.providers)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def _chosen_lists(opts: Options) -> list[blocklists.Blocklist]:
    try:
        catalog = blocklists.load_catalog(opts.blocklists_file)
        return catalog.select(opts.lists) if opts.lists else catalog.default()
    except blocklists.CatalogError as exc:
        raise BadInput(str(exc)) from None


async def run_blocklists(
    ctx: Context, lists: Sequence[blocklists.Blocklist]
) -> list[BlocklistResult]:
    """Every list, concurrently.

    Domain lists are asked about the domain and, for a subdomain, its registrable domain too:
    URI lists such as SURBL and URIBL list registrable domains only. A reserved name is never
    asked about.
    """
    domains: list[str | None] = [None]
    if not reserved_suffix(ctx.domain.ascii):
        domains = list(
            dict.fromkeys([ctx.domain.ascii, ctx.registrable_domain or ctx.domain.ascii])
        )
    deadline = ctx.options.timeout * DEADLINE_FACTOR
    env = ctx.options.env if ctx.options.env is not None else os.environ
    # No list holds private or reserved addresses: asking would only look like a clean bill.
    ip = None if special_range(ctx.ip) else ctx.ip
    asks = [
        _lookup_in_time(ctx, entry, ip if i == 0 else None, domain, env, deadline)
        for entry in lists
        for i, domain in enumerate(domains)
    ]
    return [result for batch in await asyncio.gather(*asks) for result in batch]


async def _lookup_in_time(
    ctx: Context,
    entry: blocklists.Blocklist,
    ip: IPAddress | None,
    domain: str | None,
    env: Mapping[str, str],
    deadline: float,
) -> list[BlocklistResult]:
    try:
        async with backstop(deadline):
            return await blocklists.lookup(ctx.resolver, entry, ip, domain, env)
    except TimeoutError:
        detail = f"not completed within {deadline:g}s"
    except Exception as exc:  # a defect must cost one list, not the report
        detail = f"internal error: {type(exc).__name__}: {exc}"
    return blocklists.unanswered(entry, ip, domain, detail)


def check(domain: str, ip: str, helo: str | None = None, **options: Any) -> Report:
    """The synchronous twin of check_async."""
    return asyncio.run(check_async(domain, ip, helo, **options))


async def run_checks(ctx: Context, modules: Sequence[ModuleType]) -> list[CheckResult]:
    deadline = ctx.options.timeout * DEADLINE_FACTOR
    return list(await asyncio.gather(*(_run_one(m, ctx, deadline) for m in modules)))


async def _run_one(module: ModuleType, ctx: Context, deadline: float) -> CheckResult:
    reserved = reserved_suffix(ctx.domain.ascii)
    if reserved is not None and module.ID in DOMAIN_DNS_CHECKS:
        # No DNS traffic about a name that cannot exist; legit_domain reports why.
        message = f"not checked: {ctx.domain.ascii} is {reserved.why}"
        return CheckResult(
            module.ID, Status.SKIP, message, [Finding(Status.SKIP, message, [], "reserved_name")]
        )
    try:
        async with backstop(deadline):
            return await module.run(ctx)
    except TimeoutError:
        message = f"not completed within {deadline:g}s: DNS answers too slow"
    except Exception as exc:  # a defect in one check must not take the report down
        message = f"internal error: {type(exc).__name__}: {exc}"
    finding = Finding(Status.ERROR, message, [], "check_incomplete")
    return CheckResult(
        module.ID, Status.ERROR, message, [finding], "Re-run; if it persists, report it."
    )


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
