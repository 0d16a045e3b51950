"""legit_domain: the sender domain exists, is delegated, is not reserved, and is not brand new."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from reputation import rdap
from reputation.context import Context, psl
from reputation.dns.resolver import Answer, Outcome, display_name
from reputation.knowledge import reserved_suffix
from reputation.report import CheckResult, Finding, Status, problem_summary

ID = "legit_domain"
NEW_DOMAIN_DAYS = 30

REMEDIES = {
    "domain_reserved": "Send from a registered domain you control; reserved names never exist.",
    "domain_public_suffix": "Send from a domain registered under the suffix, not the suffix itself.",
    "domain_nxdomain": "Register the domain (or fix the spelling) and publish its DNS.",
    "domain_not_delegated": "Delegate the domain: set its nameservers at the registrar.",
    "domain_unverified": "Re-run when DNS answers; check that your resolver can reach the domain's nameservers.",
    "domain_new": "New domains have no reputation: warm up slowly, low volume to engaged recipients first.",
    "domain_on_hold": "A hold status takes the domain out of the DNS: contact your registrar.",
}


async def run(ctx: Context) -> CheckResult:
    domain = ctx.domain.ascii
    reserved = reserved_suffix(domain)
    if reserved is not None:
        finding = Finding(
            Status.FAIL, f"{domain} is {reserved.why}", [reserved.source], "domain_reserved"
        )
        return _result(f"{domain} is a reserved name", [finding])
    registrable = ctx.registrable_domain
    if registrable is None or psl().is_public(domain):
        finding = Finding(
            Status.FAIL,
            f"{domain} is a public suffix (Public Suffix List): nobody sends as it",
            [f"publicsuffix: {psl().publicsuffix(domain)}"],
            "domain_public_suffix",
        )
        return _result(f"{domain} is a public suffix", [finding])

    registration = _registration(ctx, registrable)
    ns, own, record = await asyncio.gather(
        ctx.resolver.query(registrable, "NS"), ctx.resolver.query(domain, "MX"), registration
    )
    findings = [_delegation(registrable, ns)]
    if domain != registrable and own.unverified:
        findings.append(
            Finding(
                Status.ERROR,
                f"could not verify that {domain} exists",
                [own.evidence()],
                "domain_unverified",
            )
        )
    if domain != registrable and own.outcome is Outcome.NXDOMAIN and ns.ok:
        findings.append(
            Finding(
                Status.FAIL,
                f"{domain} does not exist (its registrable domain {registrable} does)",
                [own.evidence()],
                "domain_nxdomain",
            )
        )
    findings.append(_registration_finding(record))
    return _result(problem_summary(findings, f"{domain} is registered and delegated"), findings)


async def _registration(
    ctx: Context, registrable: str
) -> rdap.RdapRecord | rdap.RdapUnavailable | None:
    if not ctx.options.rdap:
        return None
    return await rdap.lookup(
        registrable, ctx.options.rdap_url, ctx.options.timeout, ctx.options.rdap_transport
    )


def _delegation(registrable: str, ns: Answer) -> Finding:
    if ns.ok:
        servers = ", ".join(sorted(display_name(r) for r in ns.records))
        return Finding(
            Status.PASS, f"{registrable} is delegated to {servers}", [ns.evidence()], "domain_ok"
        )
    if ns.outcome is Outcome.NXDOMAIN:
        return Finding(
            Status.FAIL,
            f"{registrable} does not exist in the DNS",
            [ns.evidence()],
            "domain_nxdomain",
        )
    if ns.outcome is Outcome.NODATA:
        return Finding(
            Status.FAIL,
            f"{registrable} has no NS records: it is not delegated",
            [ns.evidence()],
            "domain_not_delegated",
        )
    return Finding(
        Status.ERROR,
        f"could not verify that {registrable} is delegated",
        [ns.evidence()],
        "domain_unverified",
    )


def _registration_finding(record: rdap.RdapRecord | rdap.RdapUnavailable | None) -> Finding:
    if record is None:
        return Finding(
            Status.SKIP, "registration data not looked up (--no-rdap)", [], "rdap_skipped"
        )
    if isinstance(record, rdap.RdapUnavailable):
        return Finding(
            Status.SKIP,
            f"registration data unavailable: {record.reason}",
            [record.url],
            "rdap_skipped",
        )
    evidence = [record.url]
    if record.statuses:
        evidence.append("status: " + ", ".join(record.statuses))
    on_hold = sorted(rdap.HOLD_STATUSES & set(record.statuses))
    if on_hold:
        return Finding(
            Status.FAIL,
            f"the registry has the domain on {', '.join(on_hold)}",
            evidence,
            "domain_on_hold",
        )
    if record.registered is None:
        return Finding(
            Status.PASS,
            "registered (no registration date published)",
            evidence,
            "domain_registered",
        )
    age = (datetime.now(UTC) - record.registered).days
    evidence.append(f"registration: {record.registered.isoformat()}")
    if age < NEW_DOMAIN_DAYS:
        return Finding(
            Status.WARN,
            f"registered {age} days ago (under {NEW_DOMAIN_DAYS}): receivers distrust new domains",
            evidence,
            "domain_new",
        )
    return Finding(
        Status.PASS,
        f"registered {record.registered.date().isoformat()} ({age} days ago)",
        evidence,
        "domain_registered",
    )


def _result(summary: str, findings: list[Finding]) -> CheckResult:
    return CheckResult.from_findings(ID, summary, findings, REMEDIES)
