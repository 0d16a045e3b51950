"""mx: the domain can receive mail (and so bounces): MX records pointing at public addresses."""

from __future__ import annotations

import asyncio
import dataclasses

from reputation import facts
from reputation.checks.descriptor import Check
from reputation.context import Context
from reputation.dns.resolver import Answer, Outcome, display_name
from reputation.inputs import BadInput, parse_ip
from reputation.knowledge import special_range
from reputation.report import CheckResult, Finding, Status

ID = "mx"
# Each finding code, its usual status, and what leaves it undecided (default: undecided_by).
FINDINGS = """
    mx_present       pass
    mx_host_ok       pass
    mx_none          fail
    mx_null          fail
    mx_implicit      warn
    mx_cname         warn
    mx_ip_literal    warn
    mx_null_mixed    warn
    mx_unresolvable  warn
    mx_unverified    error
    """

REMEDIES = {
    "mx_none": "Publish an MX record naming a mail host that accepts mail for the domain, "
    "so bounces and replies can come back (receivers answer '505 Your domain "
    "has not DNS/MX entries').",
    "mx_null": "Remove the null MX (RFC 7505) if the domain sends mail: receivers refuse "
    "senders whose domain declares it accepts none.",
    "mx_implicit": "Publish an explicit MX record; relying on the A/AAAA fallback looks "
    "like a misconfiguration.",
    "mx_cname": "Point the MX at the host's canonical name, not at a CNAME (RFC 2181 §10.3).",
    "mx_ip_literal": "An MX must name a host, not an IP address (RFC 7505 §3, RFC 5321 "
    "§5.1): give the host a name with an A/AAAA record.",
    "mx_null_mixed": "Either remove the null MX (the domain receives mail) or every other "
    "MX (it receives none).",
    "mx_unresolvable": "Give every MX host an A/AAAA record with a public address, or "
    "remove the MX.",
    "mx_unverified": "Re-run when DNS answers.",
}

CHECK = Check(ID, FINDINGS, REMEDIES, undecided_by=("mx_unverified",), asks_domain_dns=True)


async def run(ctx: Context) -> CheckResult:
    domain = ctx.domain.ascii
    mx = await ctx.resolver.query(domain, "MX")
    if mx.unverified:
        finding = CHECK.finding(
            "mx_unverified", f"could not look up the MX of {domain}", [mx.evidence()]
        )
        return _result(finding.message, [finding])
    if mx.outcome is Outcome.NXDOMAIN:
        finding = CHECK.finding(
            "mx_none", f"{domain} does not exist, so it has no MX", [mx.evidence()]
        )
        return _result(finding.message, [finding])
    if not mx.ok:
        finding = await _implicit_mx(ctx, mx)
        return _result(finding.message, [finding])
    records = sorted(mx.rdata, key=lambda rd: rd.preference)
    targets = list(dict.fromkeys(display_name(rd.exchange).lower() for rd in records))
    notes: list[Finding] = []
    if "." in targets:
        if len(targets) == 1:
            finding = CHECK.finding(
                "mx_null",
                f"{domain} publishes a null MX (RFC 7505): it declares it accepts no mail",
                [mx.evidence()],
            )
            return _result(finding.message, [finding])
        targets.remove(".")
        notes.append(
            CHECK.finding(
                "mx_null_mixed",
                f"{domain} mixes a null MX with other MX records, which RFC 7505 §3 forbids: "
                "receivers may read it either way",
                [mx.evidence()],
            )
        )
    findings = [*notes, *await asyncio.gather(*(_judge_target(ctx, t) for t in targets))]
    usable = [f for f in findings if f.code in ("mx_host_ok", "mx_cname")]
    summary = f"{len(usable)} of {len(targets)} MX hosts usable: {', '.join(targets)}"
    unusable = [f for f in findings if f.code in ("mx_unresolvable", "mx_ip_literal")]
    if unusable and not usable and not any(f.status is Status.ERROR for f in findings):
        findings = [
            dataclasses.replace(f, status=Status.FAIL) if f in unusable else f for f in findings
        ]
        summary = f"no MX host of {domain} is a name with a public address"
    return _result(
        summary,
        [
            CHECK.finding("mx_present", f"{domain} has MX records", [mx.evidence()]),
            *findings,
        ],
    )


async def _implicit_mx(ctx: Context, mx: Answer) -> Finding:
    domain = ctx.domain.ascii
    a, aaaa = await facts.addresses(ctx.resolver, domain)
    evidence = [mx.evidence(), a.evidence(), aaaa.evidence()]
    if a.ok or aaaa.ok:
        return CHECK.finding(
            "mx_implicit",
            f"{domain} has no MX; mail goes to its address record (implicit MX, RFC 5321 §5.1)",
            evidence,
        )
    if a.unverified or aaaa.unverified:
        return CHECK.finding(
            "mx_unverified", f"{domain} has no MX and its address could not be looked up", evidence
        )
    return CHECK.finding(
        "mx_none",
        f"{domain} has neither MX nor address records: it cannot receive mail or bounces",
        evidence,
    )


async def _judge_target(ctx: Context, target: str) -> Finding:
    try:
        parse_ip(target)
    except BadInput:
        pass
    else:
        return CHECK.finding("mx_ip_literal", f"MX {target} is an IP address, not a host name")
    a, aaaa = await facts.addresses(ctx.resolver, target)
    evidence = [a.evidence(), aaaa.evidence()]
    addresses = facts.ips_of(a, aaaa)
    if not addresses:
        if a.unverified or aaaa.unverified:
            return CHECK.finding("mx_unverified", f"could not resolve MX host {target}", evidence)
        return CHECK.finding("mx_unresolvable", f"MX host {target} does not resolve", evidence)
    public = [ip for ip in addresses if special_range(ip) is None]
    if not public and (a.unverified or aaaa.unverified):
        # The failed lookup might hold the public address: nothing is decided.
        return Finding(
            Status.ERROR,
            f"MX host {target} has only non-public addresses so far "
            f"({', '.join(map(str, addresses))}), and its other address lookup failed",
            evidence,
            "mx_unverified",
        )
    if not public:
        return CHECK.finding(
            "mx_unresolvable",
            f"MX host {target} has only non-public addresses: {', '.join(map(str, addresses))}",
            evidence,
        )
    if a.cnames or aaaa.cnames:
        return CHECK.finding(
            "mx_cname", f"MX {target} is an alias (CNAME), which RFC 2181 forbids", evidence
        )
    return CHECK.finding(
        "mx_host_ok", f"MX host {target} resolves to {', '.join(map(str, public))}", evidence
    )


def _result(summary: str, findings: list[Finding]) -> CheckResult:
    return CHECK.summarised(findings, summary)
