"""helo_ptr: a PTR exists, it resolves back to the IP, and the HELO name agrees with both."""

from __future__ import annotations

from reputation import facts
from reputation.context import Context
from reputation.dns.resolver import Answer, Outcome, Resolver
from reputation.inputs import BadInput, IPAddress, parse_domain, parse_ip
from reputation.knowledge import reserved_suffix
from reputation.report import CheckResult, Finding, Status, problem_summary

ID = "helo_ptr"

REMEDIES = {
    "ptr_missing": "Ask whoever owns the address (ISP or hosting provider) to set a PTR for it "
    "naming your mail host, e.g. mail.yourdomain, and give that name an A/AAAA record "
    "pointing back to the address.",
    "ptr_not_confirmed": "Make the PTR name resolve back to the address: add an A/AAAA record "
    "for it, or have the PTR changed to a name that does.",
    "ptr_extra_unconfirmed": "Remove the PTR names that do not resolve back to the address.",
    "ptr_multiple": "Keep a single PTR for a mail server's address; receivers check only one.",
    "ptr_unverified": "Re-run when reverse DNS answers.",
    "helo_invalid": "Configure the server to greet with its fully qualified name (e.g. "
    "mail.yourdomain, the PTR name), never localhost or a bare IP.",
    "helo_unresolvable": "Publish an A/AAAA record for the HELO name pointing at the address, "
    "or greet with the PTR name.",
    "helo_wrong_address": "Greet with a name that resolves to this address (the PTR name), or fix "
    "the HELO name's A/AAAA record.",
    "helo_ptr_mismatch": "Greet with exactly the PTR name, so HELO, PTR and forward DNS agree.",
    "helo_unverified": "Re-run when DNS answers.",
    "helo_literal": "Greet with the server's fully qualified name (the PTR name) instead of an "
    "address literal.",
}


async def run(ctx: Context) -> CheckResult:
    answer, forward, confirmed = await facts.confirmed_ptr_names(ctx.resolver, ctx.ip)
    findings = _ptr_findings(ctx.ip, answer, forward, confirmed)
    names = facts.ptr_names(answer)
    helo = ctx.helo
    if helo is None:
        helo = await facts.assumed_helo(ctx)
        if helo is None:
            findings.append(
                Finding(
                    Status.SKIP,
                    "HELO not checked: no --helo given and no PTR name to assume",
                    [],
                    "helo_assumed",
                )
            )
            return _result(findings)
        findings.append(
            Finding(
                Status.SKIP,
                f"no --helo given: assumed the server greets as its PTR name {helo}; "
                "pass --helo NAME to check what it really says",
                [],
                "helo_assumed",
            )
        )
    findings += await helo_findings(ctx.resolver, ctx.ip, helo, names)
    return _result(findings)


def _ptr_findings(
    ip: IPAddress, answer: Answer, forward: list[Answer], confirmed: list[str]
) -> list[Finding]:
    if answer.unverified:
        return [
            Finding(
                Status.ERROR,
                f"could not look up the PTR of {ip}",
                [answer.evidence()],
                "ptr_unverified",
            )
        ]
    names = facts.ptr_names(answer)
    if not names:
        return [Finding(Status.FAIL, f"{ip} has no PTR record", [answer.evidence()], "ptr_missing")]
    findings: list[Finding] = []
    if len(names) > 1:
        findings.append(
            Finding(
                Status.WARN,
                f"{ip} has {len(names)} PTR records",
                [answer.evidence()],
                "ptr_multiple",
            )
        )
    for name, fwd in zip(names, forward, strict=True):
        evidence = [answer.evidence(), fwd.evidence()]
        if name in confirmed:
            findings.append(
                Finding(
                    Status.PASS,
                    f"PTR {name} resolves back to {ip} (forward-confirmed)",
                    evidence,
                    "ptr_confirmed",
                )
            )
        elif fwd.unverified:
            findings.append(
                Finding(
                    Status.ERROR,
                    f"could not resolve PTR name {name} to confirm it",
                    evidence,
                    "ptr_unverified",
                )
            )
        else:
            # With another PTR confirmed, FCrDNS holds: the stray name only warns.
            findings.append(
                Finding(
                    Status.WARN if confirmed else Status.FAIL,
                    f"PTR {name} does not resolve back to {ip}: {_seen(fwd)}",
                    evidence,
                    "ptr_extra_unconfirmed" if confirmed else "ptr_not_confirmed",
                )
            )
    return findings


async def helo_findings(
    resolver: Resolver, ip: IPAddress, helo: str, ptr_names: list[str]
) -> list[Finding]:
    problem = helo_syntax_problem(helo, ip)
    if problem is not None:
        return [problem]
    if helo.startswith("["):
        return [
            Finding(
                Status.WARN,
                f"HELO {helo} is an address literal of this IP: allowed by RFC 5321, but "
                "receivers such as GMX and Orange want a fully qualified name",
                [],
                "helo_literal",
            )
        ]
    name = parse_domain(helo).ascii  # already validated; compared in ASCII like the PTR names
    forward = await resolver.query(name, facts.address_type(ip))
    if forward.unverified:
        return [
            Finding(
                Status.ERROR,
                f"could not resolve HELO name {name}",
                [forward.evidence()],
                "helo_unverified",
            )
        ]
    if not forward.ok:
        return [
            Finding(
                Status.FAIL,
                f"HELO name {name} does not resolve: {_seen(forward)}",
                [forward.evidence()],
                "helo_unresolvable",
            )
        ]
    if ip not in facts.ips_of(forward):
        return [
            Finding(
                Status.FAIL,
                f"HELO name {name} resolves to {_seen(forward)}, not {ip}",
                [forward.evidence()],
                "helo_wrong_address",
            )
        ]
    findings = [
        Finding(
            Status.PASS, f"HELO name {name} resolves to {ip}", [forward.evidence()], "helo_resolves"
        )
    ]
    if ptr_names and name not in ptr_names:
        findings.append(
            Finding(
                Status.WARN,
                f"HELO name {name} differs from the PTR name {ptr_names[0]}",
                [forward.evidence()],
                "helo_ptr_mismatch",
            )
        )
    elif ptr_names:
        findings.append(
            Finding(Status.PASS, f"HELO name {name} equals the PTR name", [], "helo_matches_ptr")
        )
    return findings


def helo_syntax_problem(helo: str, ip: IPAddress) -> Finding | None:
    text = helo.strip()
    if not text:
        return Finding(Status.FAIL, "HELO is empty", [], "helo_invalid")
    if text.startswith("[") and text.endswith("]"):
        literal = text[1:-1]
        tagged = literal.lower().startswith("ipv6:")
        literal = literal[5:] if tagged else literal
        try:
            address = parse_ip(literal)
        except BadInput:
            address = None
        if address is not None and address.version == 6 and not tagged:
            return Finding(
                Status.FAIL,
                f"HELO {text} is an IPv6 literal without the 'IPv6:' tag RFC 5321 §4.1.3 requires",
                [],
                "helo_invalid",
            )
        if address == ip:
            return None
        return Finding(
            Status.FAIL, f"HELO {text} is an address literal, but not of {ip}", [], "helo_invalid"
        )
    try:
        parse_ip(text)
    except BadInput:
        pass
    else:
        return Finding(
            Status.FAIL,
            f"HELO {text} is a bare IP address: RFC 5321 requires a name or a bracketed literal",
            [],
            "helo_invalid",
        )
    try:
        domain = parse_domain(text)
    except BadInput as exc:
        return Finding(
            Status.FAIL, f"HELO {text} is not a valid host name ({exc})", [], "helo_invalid"
        )
    if "." not in domain.ascii:
        return Finding(
            Status.FAIL, f"HELO {text} is not a fully qualified name", [], "helo_invalid"
        )
    reserved = reserved_suffix(domain.ascii)
    if reserved is not None:
        return Finding(
            Status.FAIL,
            f"HELO {text} is not a public name: {reserved.why}",
            [reserved.source],
            "helo_invalid",
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
    return CheckResult.from_findings(ID, problem_summary(findings, fine), findings, REMEDIES)
