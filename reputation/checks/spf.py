"""spf: the domain's SPF policy authorises the IP to send its mail (RFC 7208, MAIL FROM identity)."""

from __future__ import annotations

from reputation import facts
from reputation.checks.descriptor import Check
from reputation.context import Context
from reputation.inputs import IPAddress
from reputation.protocols import spf
from reputation.protocols.spf import SpfCode, SpfResult
from reputation.report import CheckResult

ID = "spf"
# Each finding code, its usual status, and what leaves it undecided (default: undecided_by).
FINDINGS = """
    spf_pass       pass
    spf_fail       fail
    spf_softfail   warn
    spf_neutral    warn
    spf_none       warn
    spf_permerror  fail
    spf_temperror  error
    """

REMEDIES = {
    "spf_fail": "Authorise the sending address in the domain's SPF record: add ip4:/ip6: "
    "for it, or include: the SPF record of the service that sends for you, "
    "before the -all.",
    "spf_softfail": "Authorise the sending address in the domain's SPF record (ip4:/ip6: "
    "or the sending service's include:); ~all only softens the rejection "
    "into the spam folder.",
    "spf_neutral": "Authorise the sending address in the domain's SPF record (ip4:/ip6: "
    "or include:) and end it with -all or ~all; a neutral result counts as "
    "no authorisation.",
    "spf_none": 'Publish an SPF record as a TXT record at the domain, e.g. "v=spf1 '
    'ip4:<your address> -all"; Gmail and Yahoo require SPF or DKIM from every '
    "sender.",
    "spf_permerror": "Fix the SPF record: receivers treat a broken record as a failure or "
    "ignore it.",
    "spf_temperror": "Re-run when DNS answers; if it persists, fix the nameservers of the "
    "domains in the SPF decision path.",
}

CHECK = Check(
    ID,
    FINDINGS,
    REMEDIES,
    undecided_by=("spf_temperror",),
    judges_address=True,
    asks_domain_dns=True,
)
# The finding code of each SPF result.
CODES = {
    SpfCode.PASS: "spf_pass",
    SpfCode.FAIL: "spf_fail",
    SpfCode.SOFTFAIL: "spf_softfail",
    SpfCode.NEUTRAL: "spf_neutral",
    SpfCode.NONE: "spf_none",
    SpfCode.PERMERROR: "spf_permerror",
    SpfCode.TEMPERROR: "spf_temperror",
}


async def evaluate_for(ctx: Context) -> SpfResult:
    """SPF for the context's domain (as postmaster@domain) and IP.

    Other checks (DMARC) may call this again: the run's Resolver memo answers the repeat
    evaluation without sending a single query.
    """

    async def evaluate() -> SpfResult:
        helo = ctx.helo or await facts.assumed_helo(ctx) or ctx.domain.ascii
        return await spf.evaluate(ctx.resolver, ctx.ip, f"postmaster@{ctx.domain.ascii}", helo)

    return await ctx.once("spf", evaluate)


async def run(ctx: Context) -> CheckResult:
    result = await evaluate_for(ctx)
    code = CODES[result.result]
    summary = summarise(result, ctx.ip)
    finding = CHECK.finding(code, summary, evidence(result))
    return CHECK.result(summary, [finding], {code: remedy(result, ctx.ip)})


def summarise(result: SpfResult, ip: IPAddress) -> str:
    domain = result.domain
    step = result.decided_by
    term = step.term if step is not None and step.term else "no mechanism matched"
    lookups = f"{result.lookups} lookup{'' if result.lookups == 1 else 's'}"
    if result.result is SpfCode.PASS:
        return f"SPF pass: {ip} is authorised by {domain} ({term}), {lookups}"
    if result.result in (SpfCode.FAIL, SpfCode.SOFTFAIL):
        return f"SPF {result.result}: {ip} is not authorised by {domain} ({term}), {lookups}"
    if result.result is SpfCode.NEUTRAL:
        return f"SPF neutral: {domain} does not say whether {ip} may send ({term}), {lookups}"
    if result.result is SpfCode.NONE:
        return f"SPF none: {domain} publishes no SPF record"
    if result.result is SpfCode.PERMERROR:
        return f"SPF permerror: the SPF policy of {domain} is broken: {result.reason}"
    return f"SPF temperror: could not evaluate the SPF policy of {domain}: {result.reason}"


def evidence(result: SpfResult) -> list[str]:
    lines = result.lines()
    if result.explanation:
        lines.append(f"explanation: {result.explanation}")
    lines.append(
        f"{result.lookups} DNS lookups (limit {spf.MAX_LOOKUPS}), "
        f"{result.void_lookups} void lookups (limit {spf.MAX_VOID_LOOKUPS})"
    )
    return lines


def remedy(result: SpfResult, ip: IPAddress) -> str:
    """The remedy for this result, naming the record, the address and the error."""
    term = f"ip{spf.sender_address(ip).version}:{spf.sender_address(ip)}"
    if result.result in (SpfCode.FAIL, SpfCode.SOFTFAIL, SpfCode.NEUTRAL):
        # Mechanisms run before any redirect=, so the sender's own record is the place to fix.
        record = _record_of(result, result.domain)
        example = f' so it reads "{_with_term(record, term)}"' if record else ""
        return (
            f"Add {term} to the SPF record of {result.domain}{example}, or include: the SPF "
            "record of the service that sends from this address."
        )
    if result.result is SpfCode.NONE:
        return (
            f'Publish a TXT record at {result.domain}: "v=spf1 {term} -all" (add include: '
            "for each service that sends for the domain)."
        )
    if result.result is SpfCode.PERMERROR:
        return _permerror_remedy(result)
    if result.result is SpfCode.TEMPERROR:
        return f"Re-run when DNS answers ({result.reason}); if it persists, fix that nameserver."
    return ""


def _permerror_remedy(result: SpfResult) -> str:
    if result.lookups > spf.MAX_LOOKUPS:
        return (
            f"Reduce the SPF policy of {result.domain} to at most {spf.MAX_LOOKUPS} DNS-querying "
            "terms (include, a, mx, ptr, exists, redirect), nested includes counted: replace "
            "includes and a/mx by the ip4:/ip6: ranges they stand for, drop unused ones."
        )
    if result.void_lookups > spf.MAX_VOID_LOOKUPS:
        return (
            f"Remove from the SPF policy of {result.domain} the terms naming domains that do "
            f"not exist or have no records: at most {spf.MAX_VOID_LOOKUPS} such lookups are "
            "allowed."
        )
    step = result.decided_by
    where = step.domain if step is not None and step.domain else result.domain
    return f"Fix the SPF record of {where}: {result.reason}."


def _record_of(result: SpfResult, domain: str) -> str:
    return next((step.record for step in result.path if step.record and step.domain == domain), "")


def _with_term(record: str, term: str) -> str:
    version, _, rest = record.partition(" ")
    return f"{version} {term} {rest}".strip()
