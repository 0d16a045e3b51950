"""dmarc: one valid DMARC record applies to the domain, how strict it is, and SPF alignment.

Policy discovery follows RFC 7489 §6.6.3: TXT at _dmarc.<domain>, else at _dmarc.<organisational
domain> (the registrable domain from the Public Suffix List; RFC 9989 replaces this with a DNS
tree walk, which finds the same record for ordinary domains).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from reputation.checks.descriptor import Check
from reputation.checks.spf import evaluate_for
from reputation.context import Context, organisational_domain
from reputation.dns.cache import Querier
from reputation.dns.resolver import Answer
from reputation.protocols.dmarc import (
    DmarcRecord,
    Problem,
    effective_policy,
    is_dmarc_record,
    looks_like_dmarc,
    near_miss_reason,
    parse_record,
)
from reputation.report import CheckResult, Finding, Status

GMAIL_GUIDELINES = "https://support.google.com/mail/answer/81126"
ENFORCING = ("quarantine", "reject")

ID = "dmarc"
# Each finding code, its usual status, and what leaves it undecided (default: undecided_by).
FINDINGS = """
    dmarc_policy_reject        pass
    dmarc_policy_quarantine    pass
    dmarc_policy_none          warn
    dmarc_missing              warn
    dmarc_invalid              fail
    dmarc_multiple             fail
    dmarc_unverified           error
    dmarc_pct_partial          warn
    dmarc_testing              warn
    dmarc_unknown_tag          warn
    dmarc_tag_order            warn
    dmarc_report_scheme        warn
    dmarc_report_authorized    pass
    dmarc_report_unauthorized  warn
    dmarc_report_unverified    error
    dmarc_spf_aligned          pass
    dmarc_spf_unknown          skip
    dmarc_spf_unaligned        warn
    """

REMEDIES = {
    "dmarc_policy_none": "Once the aggregate reports show all your legitimate mail "
    "passing aligned SPF or DKIM, move to p=quarantine, then "
    "p=reject.",
    "dmarc_missing": 'Publish a TXT record at _dmarc.yourdomain, e.g. "v=DMARC1; p=none; '
    'rua=mailto:dmarc-reports@yourdomain"; read the aggregate reports, '
    "then move to p=quarantine and p=reject.",
    "dmarc_invalid": "Fix the record: it must start with exactly v=DMARC1, then "
    "p=none|quarantine|reject, with tags separated by semicolons.",
    "dmarc_multiple": "Keep exactly one v=DMARC1 TXT record at the _dmarc name: merge the "
    "others into it and delete them.",
    "dmarc_unverified": "Re-run when DNS answers.",
    "dmarc_pct_partial": "Raise pct to 100 (or remove it) once reports look clean; "
    "receivers following RFC 9989 no longer read pct.",
    "dmarc_testing": "Remove t=y once you are ready for receivers to enforce the policy.",
    "dmarc_unknown_tag": "Remove or correct unknown tags: DMARC tag names are lower-case "
    "and case-sensitive.",
    "dmarc_tag_order": "Put p= right after v=DMARC1, as RFC 7489 requires.",
    "dmarc_report_scheme": "Use mailto: report addresses; receivers need not support "
    "other schemes.",
    "dmarc_report_unauthorized": 'Have the report receiver publish TXT "v=DMARC1" at '
    "yourdomain._report._dmarc.theirdomain (RFC 7489 §7.1), "
    "or report to an address in your own domain.",
    "dmarc_report_unverified": "Re-run when DNS answers.",
    "dmarc_spf_unaligned": "Sign all mail with DKIM as d=yourdomain so DMARC can pass, or "
    "authorise this IP in the SPF record of your MAIL FROM domain.",
}

CHECK = Check(
    ID,
    FINDINGS,
    REMEDIES,
    undecided_by=("dmarc_unverified",),
    asks_domain_dns=True,
    judges_from_domain=True,
)
# The finding code of each effective policy.
POLICY_CODES = {
    "none": "dmarc_policy_none",
    "quarantine": "dmarc_policy_quarantine",
    "reject": "dmarc_policy_reject",
}


@dataclass(frozen=True)
class Discovery:
    """What policy discovery found: the lookups made and the DMARC records at the first name
    that had any."""

    answers: tuple[Answer, ...]
    found_at: str | None = None
    records: tuple[str, ...] = ()
    ignored: tuple[tuple[str, str], ...] = ()  # (domain, text): looks like DMARC, is not
    unverified: Answer | None = None

    def answer_at(self, domain: str) -> Answer | None:
        return next((a for a in self.answers if a.name == dmarc_name(domain)), None)


def dmarc_name(domain: str) -> str:
    return f"_dmarc.{domain}"


async def discover(resolver: Querier, domain: str, organisational: str | None) -> Discovery:
    """RFC 7489 §6.6.3 steps 1-4: the domain's _dmarc name, then the organisational domain's."""
    candidates = [domain] if organisational in (None, domain) else [domain, organisational]
    answers: list[Answer] = []
    ignored: list[tuple[str, str]] = []
    for candidate in candidates:
        answer = await resolver.query(dmarc_name(candidate), "TXT")
        answers.append(answer)
        if answer.unverified:
            return Discovery(tuple(answers), ignored=tuple(ignored), unverified=answer)
        texts = answer.records if answer.ok else []
        records = tuple(t for t in texts if is_dmarc_record(t))
        ignored += [(candidate, t) for t in texts if looks_like_dmarc(t) and not is_dmarc_record(t)]
        if records:
            return Discovery(tuple(answers), candidate, records, tuple(ignored))
    return Discovery(tuple(answers), ignored=tuple(ignored))


async def run(ctx: Context) -> CheckResult:
    domain = ctx.author.ascii
    found = await discover(ctx.resolver, domain, organisational_domain(domain))
    findings = [_ignored_finding(found, d, text) for d, text in found.ignored]
    if found.unverified is not None:
        findings.append(
            CHECK.finding(
                "dmarc_unverified",
                f"could not look up the DMARC record of {domain}",
                [a.evidence() for a in found.answers],
            )
        )
    elif found.found_at is None:
        if not found.ignored:
            findings.append(_missing_finding(domain, found))
    elif len(found.records) > 1:
        findings.append(_multiple_finding(found))
    else:
        findings += await _record_findings(ctx, found)
    return _result(findings)


def _ignored_finding(found: Discovery, domain: str, text: str) -> Finding:
    answer = found.answer_at(domain)
    return CHECK.finding(
        "dmarc_invalid",
        f"the TXT record at {dmarc_name(domain)} is meant as DMARC but receivers discard it: "
        f"{near_miss_reason(text)} (records must start with exactly v=DMARC1, RFC 7489 §6.6.3)",
        [answer.evidence()] if answer else [text],
    )


def _missing_finding(domain: str, found: Discovery) -> Finding:
    names = " nor at ".join(a.name for a in found.answers)
    return CHECK.finding(
        "dmarc_missing",
        f"no DMARC record at {names}: Gmail, Yahoo and Outlook.com require one (p=none is "
        "enough) from bulk senders, and without it nothing stops others sending as "
        f"{domain}",
        [a.evidence() for a in found.answers] + [GMAIL_GUIDELINES],
    )


def _multiple_finding(found: Discovery) -> Finding:
    name = dmarc_name(found.found_at or "")
    answer = found.answer_at(found.found_at or "")
    return CHECK.finding(
        "dmarc_multiple",
        f"{len(found.records)} DMARC records at {name}: receivers then apply no DMARC policy at "
        "all (RFC 7489 §6.6.3 step 6)",
        ([answer.evidence()] if answer else []) + [f"record: {r}" for r in found.records],
    )


async def _record_findings(ctx: Context, found: Discovery) -> list[Finding]:
    domain = ctx.author.ascii
    at = found.found_at or domain
    record = parse_record(found.records[0])
    evidence = _record_evidence(found, record)
    findings = [_problem_finding(at, problem, evidence) for problem in record.problems]
    policy, source = effective_policy(record, subdomain=at != domain)
    if policy is None:
        return findings
    findings.append(_policy_finding(domain, at, policy, source, evidence))
    findings += _partial_findings(record, policy, evidence)
    reports, alignment = await asyncio.gather(
        _report_findings(ctx.resolver, at, record), _spf_alignment(ctx, record, policy)
    )
    return findings + reports + ([alignment] if alignment is not None else [])


def _record_evidence(found: Discovery, record: DmarcRecord) -> list[str]:
    answer = found.answer_at(found.found_at or "")
    lines = [f"found at {dmarc_name(found.found_at or '')}"]
    if answer is not None:
        lines.append(answer.evidence())
    lines.append(f"record: {record.raw}")
    if record.tags:
        lines.append(f"parsed: {record.shown()}")
    return lines


def _problem_finding(at: str, problem: Problem, evidence: list[str]) -> Finding:
    status = Status.FAIL if problem.severity == "error" else Status.WARN
    prefix = "invalid DMARC record" if problem.severity == "error" else "DMARC record"
    return CHECK.finding(
        problem.code, f"{prefix} at {dmarc_name(at)}: {problem.message}", evidence, status
    )


def _policy_finding(domain: str, at: str, policy: str, source: str, evidence: list[str]) -> Finding:
    if source in ("p", "sp"):
        where = f"{source}= of {dmarc_name(at)}"
    else:
        where = f"{dmarc_name(at)}: {source}"
    if policy == "none":
        return CHECK.finding(
            "dmarc_policy_none",
            f"DMARC policy for {domain} is none ({where}): receivers only report, they take no "
            "action on mail that fails DMARC; enough for Gmail's and Yahoo's bulk-sender rule, "
            "but it does not protect the domain",
            evidence,
        )
    action = "sent to spam" if policy == "quarantine" else "rejected"
    return CHECK.finding(
        POLICY_CODES[policy],
        f"DMARC policy for {domain} is {policy} ({where}): mail failing DMARC is {action}",
        evidence,
        Status.PASS,
    )


def _partial_findings(record: DmarcRecord, policy: str, evidence: list[str]) -> list[Finding]:
    if policy not in ENFORCING:
        return []
    findings: list[Finding] = []
    lower = "none" if policy == "quarantine" else "quarantine"
    if record.pct is not None and record.pct < 100:
        findings.append(
            CHECK.finding(
                "dmarc_pct_partial",
                f"pct={record.pct}: the {policy} policy covers only {record.pct}% of failing mail; "
                f"the rest gets {lower} (RFC 7489 §6.6.4). RFC 9989 drops pct, so newer "
                "receivers apply the policy to all of it",
                evidence,
            )
        )
    if record.testing:
        findings.append(
            CHECK.finding(
                "dmarc_testing",
                f"t=y (testing, RFC 9989): receivers that honour it apply {lower} instead of "
                f"{policy}",
                evidence,
            )
        )
    return findings


async def _report_findings(resolver: Querier, at: str, record: DmarcRecord) -> list[Finding]:
    """RFC 7489 §7.1: a mailto destination outside the policy's organisational domain must
    authorise the reports with TXT v=DMARC1 at <policy domain>._report._dmarc.<destination>."""
    own = organisational(at)
    hosts = list(dict.fromkeys(u.host for u in (*record.rua, *record.ruf) if u.host))
    external = [h for h in hosts if organisational(h) != own]
    return list(await asyncio.gather(*(_authorisation(resolver, at, h) for h in external)))


def organisational(domain: str) -> str:
    return organisational_domain(domain)


async def _authorisation(resolver: Querier, at: str, host: str) -> Finding:
    answer = await resolver.query(f"{at}._report._dmarc.{host}", "TXT")
    evidence = [answer.evidence()]
    if answer.unverified:
        return CHECK.finding(
            "dmarc_report_unverified",
            f"could not check whether {host} accepts DMARC reports for {at}",
            evidence,
        )
    if any(is_dmarc_record(text) for text in answer.records):
        message = f"{host} authorises DMARC reports for {at}"
        return CHECK.finding("dmarc_report_authorized", message, evidence)
    return CHECK.finding(
        "dmarc_report_unauthorized",
        f"reports go to {host}, outside {organisational(at)}, which has not authorised them: "
        f"receivers send nothing there (no v=DMARC1 at {answer.name}, RFC 7489 §7.1)",
        evidence,
    )


async def spf_result(ctx: Context) -> str:
    """The SPF result (pass, fail, softfail, ...) for ctx.ip and postmaster@<domain>: the very
    evaluation the spf check made, computed once per run."""
    return str((await evaluate_for(ctx)).result)


async def _spf_alignment(ctx: Context, record: DmarcRecord, policy: str) -> Finding | None:
    try:
        result = await spf_result(ctx)
    except Exception as exc:  # another check's defect must not sink DMARC
        return CHECK.finding(
            "dmarc_spf_unknown",
            f"SPF alignment not evaluated: the SPF evaluation failed ({type(exc).__name__}: {exc})",
        )
    if result is None:
        return None
    if ctx.from_domain is not None:
        envelope = ctx.domain.ascii
        return envelope_alignment(ctx.author.ascii, envelope, str(ctx.ip), result, record, policy)
    return alignment_finding(ctx.domain.ascii, str(ctx.ip), result, record, policy)


def spf_aligns(envelope: str, from_domain: str, mode: str) -> bool:
    """RFC 7489 §3.1.2: strict wants the same name, relaxed the same organisational domain."""
    if mode == "s":
        return envelope == from_domain
    return organisational(envelope) == organisational(from_domain)


def envelope_alignment(
    domain: str, envelope: str, ip: str, spf: str, record: DmarcRecord, policy: str
) -> Finding:
    """How SPF for the envelope domain counts towards DMARC for the From domain (--from)."""
    mode = "strict, aspf=s" if record.aspf == "s" else "relaxed, aspf=r"
    evidence = [f"spf={spf} for MAIL FROM postmaster@{envelope} from {ip}"]
    if spf != "pass":
        return alignment_finding(domain, ip, spf, record, policy, envelope)
    if spf_aligns(envelope, domain, record.aspf):
        same = "the same name" if envelope == domain else f"both under {organisational(domain)}"
        return CHECK.finding(
            "dmarc_spf_aligned",
            f"SPF passes for the envelope domain {envelope} and aligns with the From domain "
            f"{domain} ({mode}: {same})",
            evidence,
        )
    why = f"{organisational(envelope)} is not {organisational(domain)}"
    if record.aspf == "s" and organisational(envelope) == organisational(domain):
        why = f"strict alignment wants {domain} exactly; aspf=r would align {envelope}"
    return CHECK.finding(
        "dmarc_spf_unaligned",
        f"SPF passes for the envelope domain {envelope}, but it does not align with the From "
        f"domain {domain} ({mode}: {why}), so DMARC passes only through an aligned DKIM "
        f"signature ({_signer(domain, record)}), as is usual for mail sent through an email "
        "service",
        evidence,
        Status.SKIP,
    )


def _signer(domain: str, record: DmarcRecord) -> str:
    signer = f"d={domain}"
    if record.adkim == "r":
        signer += f" or another domain under {organisational(domain)} (adkim=r)"
    return signer


def alignment_finding(
    domain: str, ip: str, spf: str, record: DmarcRecord, policy: str, envelope: str | None = None
) -> Finding:
    """How SPF counts towards DMARC. Without an envelope domain this tool checks SPF for MAIL
    FROM postmaster@<domain>, so the SPF-authenticated domain is the From domain itself: aligned
    in relaxed and strict mode."""
    identity = f"MAIL FROM postmaster@{envelope or domain}"
    evidence = [f"spf={spf} for {identity} from {ip}"]
    if spf == "pass":
        return CHECK.finding(
            "dmarc_spf_aligned",
            f"SPF passes and aligns (aspf={record.aspf}): {ip} may send for {identity}, the "
            f"From domain itself (so long as your real MAIL FROM is in {domain}: a sending "
            "service's own bounce domain does not align)",
            evidence,
        )
    if spf == "temperror":
        return CHECK.finding(
            "dmarc_spf_unknown",
            "SPF could not be evaluated (temperror), so SPF alignment is unknown",
            evidence,
        )
    message = (
        f"SPF does not pass for this IP ({spf}{f' for {envelope}' if envelope else ''}), so "
        f"DMARC can pass only through an aligned DKIM signature ({_signer(domain, record)})"
    )
    if policy in ENFORCING:
        action = "sent to spam" if policy == "quarantine" else "rejected"
        message += f"; with p={policy}, mail without one is {action}"
    status = Status.WARN if policy in ENFORCING else Status.SKIP
    return CHECK.finding("dmarc_spf_unaligned", message, evidence, status)


def _result(findings: list[Finding]) -> CheckResult:
    for status in (Status.FAIL, Status.ERROR, Status.WARN):
        bad = next((f for f in findings if f.status is status), None)
        if bad is not None:
            return CHECK.result(bad.message, findings)
    policy = next((f for f in findings if f.code.startswith("dmarc_policy_")), None)
    summary = policy.message if policy is not None else "DMARC checked"
    return CHECK.result(summary, findings)
