"""helo_ptr: a PTR exists, it resolves back to the IP, and the HELO name agrees with both."""

from __future__ import annotations

from reputation import facts
from reputation.bounds import more
from reputation.checks.descriptor import Check
from reputation.context import Context
from reputation.dns.cache import Querier
from reputation.dns.resolver import Answer, Outcome
from reputation.inputs import BadInput, IPAddress, parse_domain, parse_ip
from reputation.knowledge import reserved_suffix
from reputation.report import CheckResult, Finding, Status

ID = "helo_ptr"
# Each finding code, its usual status, and what leaves it undecided (default: undecided_by).
FINDINGS = """
    ptr_confirmed          pass
    ptr_missing            fail
    ptr_not_confirmed      fail
    ptr_extra_unconfirmed  warn
    ptr_multiple           warn
    ptr_unverified         error
    helo_assumed           skip
    helo_resolves          pass
    helo_matches_ptr       pass
    helo_invalid           fail  undecided by helo_unverified ptr_unverified
    helo_unresolvable      fail  undecided by helo_unverified ptr_unverified
    helo_wrong_address     fail  undecided by helo_unverified ptr_unverified
    helo_ptr_mismatch      warn  undecided by helo_unverified ptr_unverified
    helo_unverified        error
    helo_literal           warn
    """

REMEDIES = {
    "ptr_missing": "Ask whoever owns the address (ISP or hosting provider) to set a PTR "
    "for it naming your mail host, e.g. mail.yourdomain, and give that "
    "name an A/AAAA record pointing back to the address.",
    "ptr_not_confirmed": "Make the PTR name resolve back to the address: add an A/AAAA "
    "record for it, or have the PTR changed to a name that does.",
    "ptr_extra_unconfirmed": "Remove the PTR names that do not resolve back to the address.",
    "ptr_multiple": "Keep a single PTR for a mail server's address; receivers check only one.",
    "ptr_unverified": "Re-run when reverse DNS answers.",
    "helo_invalid": "Configure the server to greet with its fully qualified name (e.g. "
    "mail.yourdomain, the PTR name), never localhost or a bare IP.",
    "helo_unresolvable": "Publish an A/AAAA record for the HELO name pointing at the "
    "address, or greet with the PTR name.",
    "helo_wrong_address": "Greet with a name that resolves to this address (the PTR "
    "name), or fix the HELO name's A/AAAA record.",
    "helo_ptr_mismatch": "Greet with exactly the PTR name, so HELO, PTR and forward DNS agree.",
    "helo_unverified": "Re-run when DNS answers.",
    "helo_literal": "Greet with the server's fully qualified name (the PTR name) instead "
    "of an address literal.",
}

CHECK = Check(ID, FINDINGS, REMEDIES, undecided_by=("ptr_unverified",), judges_address=True)


async def run(ctx: Context) -> CheckResult:
    answer, forward, confirmed = await facts.confirmed_ptr_names(ctx.resolver, ctx.ip)
    findings = _ptr_findings(ctx.ip, answer, forward, confirmed)
    names = facts.ptr_names(answer)
    helo = ctx.helo
    if helo is None:
        helo = await facts.assumed_helo(ctx)
        if helo is None:
            findings.append(
                CHECK.finding(
                    "helo_assumed", "HELO not checked: no --helo given and no PTR name to assume"
                )
            )
            return _result(findings)
        findings.append(
            CHECK.finding(
                "helo_assumed",
                f"no --helo given: assumed the server greets as its PTR name {helo}; "
                "pass --helo NAME to check what it really says",
            )
        )
    findings += await helo_findings(ctx.resolver, ctx.ip, helo, names)
    return _result(findings)


def _ptr_findings(
    ip: IPAddress, answer: Answer, forward: list[Answer], confirmed: list[str]
) -> list[Finding]:
    if answer.unverified:
        return [
            CHECK.finding(
                "ptr_unverified", f"could not look up the PTR of {ip}", [answer.evidence()]
            )
        ]
    names, unread = facts.read_ptr_names(answer)
    if not names:
        return [CHECK.finding("ptr_missing", f"{ip} has no PTR record", [answer.evidence()])]
    findings: list[Finding] = []
    if len(names) > 1:
        count = len(names) + unread
        read = (
            f"; the first {len(names)} are checked, {more(unread)} are not read" if unread else ""
        )
        findings.append(
            CHECK.finding(
                "ptr_multiple", f"{ip} has {count} PTR records{read}", [answer.evidence()]
            )
        )
    for name, fwd in zip(names, forward, strict=True):
        evidence = [facts.record_evidence(answer, f"{name}."), fwd.evidence()]
        if name in confirmed:
            findings.append(
                CHECK.finding(
                    "ptr_confirmed",
                    f"PTR {name} resolves back to {ip} (forward-confirmed)",
                    evidence,
                )
            )
        elif fwd.unverified:
            findings.append(
                CHECK.finding(
                    "ptr_unverified", f"could not resolve PTR name {name} to confirm it", evidence
                )
            )
        else:
            # With another PTR confirmed, FCrDNS holds: the stray name only warns.
            findings.append(
                CHECK.finding(
                    "ptr_extra_unconfirmed" if confirmed else "ptr_not_confirmed",
                    f"PTR {name} does not resolve back to {ip}: {_seen(fwd)}",
                    evidence,
                    Status.WARN if confirmed else Status.FAIL,
                )
            )
    return findings


async def helo_findings(
    resolver: Querier, ip: IPAddress, helo: str, ptr_names: list[str]
) -> list[Finding]:
    problem = helo_syntax_problem(helo, ip)
    if problem is not None:
        return [problem]
    if helo.startswith("["):
        return [
            CHECK.finding(
                "helo_literal",
                f"HELO {helo} is an address literal of this IP: allowed by RFC 5321, but "
                "receivers such as GMX and Orange want a fully qualified name",
            )
        ]
    name = parse_domain(helo).ascii  # already validated; compared in ASCII like the PTR names
    forward = await resolver.query(name, facts.address_type(ip))
    if forward.unverified:
        return [
            CHECK.finding(
                "helo_unverified", f"could not resolve HELO name {name}", [forward.evidence()]
            )
        ]
    if not forward.ok:
        return [
            CHECK.finding(
                "helo_unresolvable",
                f"HELO name {name} does not resolve: {_seen(forward)}",
                [forward.evidence()],
            )
        ]
    if ip not in facts.ips_of(forward):
        return [
            CHECK.finding(
                "helo_wrong_address",
                f"HELO name {name} resolves to {_seen(forward)}, not {ip}",
                [forward.evidence()],
            )
        ]
    findings = [
        CHECK.finding("helo_resolves", f"HELO name {name} resolves to {ip}", [forward.evidence()])
    ]
    if ptr_names and name not in ptr_names:
        findings.append(
            CHECK.finding(
                "helo_ptr_mismatch",
                f"HELO name {name} differs from the PTR name {ptr_names[0]}",
                [forward.evidence()],
            )
        )
    elif ptr_names:
        findings.append(CHECK.finding("helo_matches_ptr", f"HELO name {name} equals the PTR name"))
    return findings


def helo_syntax_problem(helo: str, ip: IPAddress) -> Finding | None:
    text = helo.strip()
    if not text:
        return CHECK.finding("helo_invalid", "HELO is empty")
    if text.startswith("[") and text.endswith("]"):
        literal = text[1:-1]
        tagged = literal.lower().startswith("ipv6:")
        literal = literal[5:] if tagged else literal
        try:
            address = parse_ip(literal)
        except BadInput:
            address = None
        if address is not None and address.version == 6 and not tagged:
            return CHECK.finding(
                "helo_invalid",
                f"HELO {text} is an IPv6 literal without the 'IPv6:' tag RFC 5321 §4.1.3 requires",
            )
        if address == ip:
            return None
        return CHECK.finding("helo_invalid", f"HELO {text} is an address literal, but not of {ip}")
    try:
        parse_ip(text)
    except BadInput:
        pass
    else:
        return CHECK.finding(
            "helo_invalid",
            f"HELO {text} is a bare IP address: RFC 5321 requires a name or a bracketed literal",
        )
    try:
        domain = parse_domain(text)
    except BadInput as exc:
        return CHECK.finding("helo_invalid", f"HELO {text} is not a valid host name ({exc})")
    if "." not in domain.ascii:
        return CHECK.finding("helo_invalid", f"HELO {text} is not a fully qualified name")
    reserved = reserved_suffix(domain.ascii)
    if reserved is not None:
        return CHECK.finding(
            "helo_invalid", f"HELO {text} is not a public name: {reserved.why}", [reserved.source]
        )
    return None


def _seen(answer: Answer) -> str:
    if answer.ok:
        return ", ".join(answer.records)
    return "NXDOMAIN" if answer.outcome is Outcome.NXDOMAIN else "no address record"


def _result(findings: list[Finding]) -> CheckResult:
    assumed = any(f.code == "helo_assumed" for f in findings)
    fine = "PTR forward-confirmed" + (
        "; HELO assumed to be the PTR name" if assumed else " and HELO agrees"
    )
    return CHECK.summarised(findings, fine)
