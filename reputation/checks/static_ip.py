"""static_ip: the address is globally routable and its PTR name does not read as dynamic."""

from __future__ import annotations

import re

from reputation import facts
from reputation.checks.descriptor import Check
from reputation.context import Context, organisational_domain
from reputation.inputs import IPAddress
from reputation.knowledge import dynamic_ptr_tokens, special_range
from reputation.report import (
    BlocklistResult,
    CheckResult,
    Finding,
    ListingStatus,
    Status,
    problem_summary,
)

ID = "static_ip"
# Each finding code, its usual status, and what leaves it undecided (default: undecided_by).
FINDINGS = """
    ip_global           pass
    ip_not_global       fail
    ptr_named           pass
    ptr_absent          skip
    ptr_dynamic         fail  undecided by ptr_unverified
    ptr_generic         warn  undecided by ptr_unverified
    ptr_unverified      error
    ip_policy_listed    fail  undecided by policy_unverified policy_not_checked
    policy_unverified   error
    policy_not_checked  skip
    """

REMEDIES = {
    "ip_not_global": "Send from a public, globally routable address; private and reserved "
    "ranges can never reach another network's MX.",
    "ptr_dynamic": "Send from a static address with a PTR naming your own mail host (e.g. "
    "mail.yourdomain), or relay through your provider's smarthost.",
    "ptr_generic": "Ask your ISP or host to set a PTR naming your mail host (e.g. "
    "mail.yourdomain) instead of the provider's generic name.",
    "ptr_unverified": "Re-run when reverse DNS answers.",
    "ip_policy_listed": "The range is listed as end-user/dynamic space: use a static "
    "server address; request removal from the policy list only if "
    "this address really is a static mail server.",
    "policy_unverified": "Query the policy lists through your own recursive resolver (see "
    "blocklists).",
}

CHECK = Check(ID, FINDINGS, REMEDIES, reads_listings=True)

_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+|(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")


async def run(ctx: Context) -> CheckResult:
    special = special_range(ctx.ip)
    if special is not None:
        finding = CHECK.finding(
            "ip_not_global",
            f"{ctx.ip} is not globally routable: {special.network} is {special.why}",
            [special.source],
        )
        return _result(f"{ctx.ip} is not a public address", [finding])
    findings = [CHECK.finding("ip_global", f"{ctx.ip} is a globally routable address")]
    answer = await facts.ptr(ctx.resolver, ctx.ip)
    if answer.unverified:
        findings.append(
            CHECK.finding(
                "ptr_unverified", "could not read the PTR to judge the address", [answer.evidence()]
            )
        )
    elif not answer.ok:
        findings.append(
            CHECK.finding(
                "ptr_absent", "no PTR name to judge static or dynamic by", [answer.evidence()]
            )
        )
    names, _ = facts.read_ptr_names(answer)
    for name in names:
        findings.append(judge_ptr_name(name, ctx.ip, facts.record_evidence(answer, f"{name}.")))
    return _result(_summary(findings), findings)


def judge_ptr_name(name: str, ip: IPAddress, evidence: str) -> Finding:
    tokens = dynamic_tokens_in(name)
    embedded = embeds_address(name, ip)
    if tokens and embedded:
        return CHECK.finding(
            "ptr_dynamic",
            f"PTR {name} looks dynamic/residential: it embeds the address and says "
            f"{', '.join(repr(t) for t in tokens)}",
            [evidence],
        )
    if embedded:
        return CHECK.finding(
            "ptr_generic",
            f"PTR {name} is a generic name with the address's digits in it",
            [evidence],
        )
    if tokens:
        return CHECK.finding(
            "ptr_generic",
            f"PTR {name} contains {', '.join(repr(t) for t in tokens)}, which receivers read as "
            "end-user space",
            [evidence],
        )
    return CHECK.finding("ptr_named", f"PTR {name} reads as a named server", [evidence])


def dynamic_tokens_in(name: str) -> list[str]:
    """Dynamic-looking words in the host part (the registrable domain itself is the ISP's name)."""
    registrable = organisational_domain(name)
    host_part = name[: -len(registrable)] if name.endswith(registrable) else name
    wanted = dynamic_ptr_tokens()
    return [t for t in dict.fromkeys(_TOKEN_SPLIT.split(host_part.lower())) if t in wanted]


def embeds_address(name: str, ip: IPAddress) -> bool:
    """Does the name spell the address: its four numbers in a row (either order, any
    separators, leading zeros allowed), the twelve zero-padded digits, or the eight hex
    digits, each standing alone (not part of a longer number)?"""
    lowered = name.lower()
    if ip.version == 4:
        octets = [int(o) for o in str(ip).split(".")]
        numbers = [int(run) for run in _DIGIT_RUN.findall(lowered)]
        runs = set(_DIGIT_RUN.findall(lowered))
        padded = "".join(f"{o:03d}" for o in octets)
        padded_reversed = "".join(f"{o:03d}" for o in reversed(octets))
        hexadecimal = "".join(f"{o:02x}" for o in octets)
        return (
            _has_sequence(numbers, octets)
            or _has_sequence(numbers, octets[::-1])
            or padded in runs
            or padded_reversed in runs
            or hexadecimal in _HEX_RUN.findall(lowered)
        )
    flat = re.sub(r"[^0-9a-f]", "", lowered)
    exploded = ip.exploded.replace(":", "")
    dashed = {ip.compressed.replace(":", "-"), ip.exploded.replace(":", "-")}
    return exploded[16:] in flat or any(d in lowered for d in dashed)


def _has_sequence(numbers: list[int], wanted: list[int]) -> bool:
    size = len(wanted)
    return any(numbers[i : i + size] == wanted for i in range(len(numbers) - size + 1))


_DIGIT_RUN = re.compile(r"\d+")
_HEX_RUN = re.compile(r"[0-9a-f]+")


def with_policy_listings(
    result: CheckResult,
    listings: list[BlocklistResult],
    consulted: set[str],
    lists_queried: bool = True,
) -> CheckResult:
    """Fold policy-list evidence (Spamhaus PBL, dynamic-range lists) into the static_ip result.

    A listing on a list that major providers consult fails; on a minor list it warns. A policy
    list that could not be read leaves the address's nature unverified; so does not asking the
    lists at all (blocklists not requested).
    """
    if result.has("ip_not_global") or result.has("not_requested"):
        return result
    findings = list(result.findings)
    if not lists_queried:
        findings.append(
            CHECK.finding(
                "policy_not_checked",
                "end-user/dynamic-range lists not consulted: blocklists not requested",
            )
        )
    for listing in listings:
        if listing.subject != "ip":
            continue
        evidence = [f"{listing.zone}: {', '.join(listing.codes)} {listing.detail}".strip()]
        if listing.status is ListingStatus.LISTED and listing.severity == "policy":
            status = Status.FAIL if listing.zone in consulted else Status.WARN
            meaning = "; ".join(listing.meanings)
            findings.append(
                CHECK.finding(
                    "ip_policy_listed",
                    f"{listing.name} lists {listing.query} as {meaning}",
                    evidence,
                    status,
                )
            )
        elif (
            listing.status in (ListingStatus.REFUSED, ListingStatus.ERROR)
            and listing.zone in consulted
        ):
            findings.append(
                CHECK.finding(
                    "policy_unverified",
                    f"could not consult {listing.name} for end-user/dynamic ranges ({listing.status})",
                    evidence,
                )
            )
    if len(findings) == len(result.findings):
        return result
    return _result(_summary(findings), findings)


def _summary(findings: list[Finding]) -> str:
    if any(f.code == "ptr_absent" for f in findings):
        fallback = "globally routable; no PTR name to judge static or dynamic by"
    else:
        fallback = "globally routable, PTR reads as a named server"
    return problem_summary(findings, fallback)


def _result(summary: str, findings: list[Finding]) -> CheckResult:
    return CHECK.result(summary, findings)
