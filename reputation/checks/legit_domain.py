"""legit_domain: the sender domain exists, is delegated, is not reserved, and is not brand new."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reputation.checks.descriptor import Check
from reputation.context import Context, psl
from reputation.dns.resolver import Answer, Outcome, display_name
from reputation.knowledge import reserved_suffix
from reputation.report import CheckResult, Finding, problem_summary

if TYPE_CHECKING:
    from reputation import rdap

NEW_DOMAIN_DAYS = 30


ID = "legit_domain"
# Each finding code, its usual status, and what leaves it undecided (default: undecided_by).
FINDINGS = """
    domain_ok             pass
    domain_registered     pass
    rdap_skipped          skip
    domain_reserved       fail
    domain_public_suffix  fail
    domain_nxdomain       fail
    domain_not_delegated  fail
    domain_unverified     error
    domain_new            warn  undecided by rdap_skipped domain_unverified
    domain_on_hold        fail  undecided by rdap_skipped domain_unverified
    """

REMEDIES = {
    "domain_reserved": "Send from a registered domain you control; reserved names never exist.",
    "domain_public_suffix": "Send from a domain registered under the suffix, not the "
    "suffix itself.",
    "domain_nxdomain": "Register the domain (or fix the spelling) and publish its DNS.",
    "domain_not_delegated": "Delegate the domain: set its nameservers at the registrar.",
    "domain_unverified": "Re-run when DNS answers; check that your resolver can reach the "
    "domain's nameservers.",
    "domain_new": "New domains have no reputation: warm up slowly, low volume to engaged "
    "recipients first.",
    "domain_on_hold": "A hold status takes the domain out of the DNS: contact your registrar.",
}

CHECK = Check(ID, FINDINGS, REMEDIES, undecided_by=("domain_unverified",))


async def run(ctx: Context) -> CheckResult:
    domain = ctx.domain.ascii
    reserved = reserved_suffix(domain)
    if reserved is not None:
        finding = CHECK.finding("domain_reserved", f"{domain} is {reserved.why}", [reserved.source])
        return _result(f"{domain} is a reserved name", [finding])
    registrable = ctx.registrable_domain
    if registrable is None or psl().is_public(domain):
        finding = CHECK.finding(
            "domain_public_suffix",
            f"{domain} is a public suffix (Public Suffix List): nobody sends as it",
            [f"publicsuffix: {psl().publicsuffix(domain)}"],
        )
        return _result(f"{domain} is a public suffix", [finding])

    registration = _registration(ctx, registrable)
    ns, own, record = await asyncio.gather(
        ctx.resolver.query(registrable, "NS"), ctx.resolver.query(domain, "MX"), registration
    )
    findings = [_delegation(registrable, ns)]
    if domain != registrable and own.unverified:
        findings.append(
            CHECK.finding(
                "domain_unverified", f"could not verify that {domain} exists", [own.evidence()]
            )
        )
    if domain != registrable and own.outcome is Outcome.NXDOMAIN and ns.ok:
        findings.append(
            CHECK.finding(
                "domain_nxdomain",
                f"{domain} does not exist (its registrable domain {registrable} does)",
                [own.evidence()],
            )
        )
    findings.append(_registration_finding(record))
    return _result(problem_summary(findings, f"{domain} is registered and delegated"), findings)


async def _registration(
    ctx: Context, registrable: str
) -> rdap.RdapRecord | rdap.RdapUnavailable | None:
    if not ctx.options.rdap:
        return None
    from reputation import rdap  # not loaded by a run with --no-rdap

    return await rdap.lookup(
        registrable, ctx.options.rdap_url, ctx.options.timeout, ctx.options.rdap_transport
    )


def _delegation(registrable: str, ns: Answer) -> Finding:
    if ns.ok:
        servers = ", ".join(sorted(display_name(r) for r in ns.records))
        return CHECK.finding(
            "domain_ok", f"{registrable} is delegated to {servers}", [ns.evidence()]
        )
    if ns.outcome is Outcome.NXDOMAIN:
        return CHECK.finding(
            "domain_nxdomain", f"{registrable} does not exist in the DNS", [ns.evidence()]
        )
    if ns.outcome is Outcome.NODATA:
        return CHECK.finding(
            "domain_not_delegated",
            f"{registrable} has no NS records: it is not delegated",
            [ns.evidence()],
        )
    return CHECK.finding(
        "domain_unverified", f"could not verify that {registrable} is delegated", [ns.evidence()]
    )


def _registration_finding(record: rdap.RdapRecord | rdap.RdapUnavailable | None) -> Finding:
    if record is None:
        return CHECK.finding("rdap_skipped", "registration data not looked up (--no-rdap)")
    from reputation import rdap

    if isinstance(record, rdap.RdapUnavailable):
        return CHECK.finding(
            "rdap_skipped", f"registration data unavailable: {record.reason}", [record.url]
        )
    evidence = [record.url]
    if record.statuses:
        evidence.append("status: " + ", ".join(record.statuses))
    on_hold = sorted(rdap.HOLD_STATUSES & set(record.statuses))
    if on_hold:
        return CHECK.finding(
            "domain_on_hold", f"the registry has the domain on {', '.join(on_hold)}", evidence
        )
    if record.registered is None:
        return CHECK.finding(
            "domain_registered", "registered (no registration date published)", evidence
        )
    age = (datetime.now(UTC) - record.registered).days
    evidence.append(f"registration: {record.registered.isoformat()}")
    if age < NEW_DOMAIN_DAYS:
        return CHECK.finding(
            "domain_new",
            f"registered {age} days ago (under {NEW_DOMAIN_DAYS}): receivers distrust new domains",
            evidence,
        )
    return CHECK.finding(
        "domain_registered",
        f"registered {record.registered.date().isoformat()} ({age} days ago)",
        evidence,
    )


def _result(summary: str, findings: list[Finding]) -> CheckResult:
    return CHECK.result(summary, findings)
