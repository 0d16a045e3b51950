"""dkim: a usable DKIM public key is published at one of the selectors we can guess or were told.

Selectors cannot be listed from DNS, so this probes the user's selectors (--dkim-selector) and a
list of common ones (reputation/data/dkim_selectors.toml) concurrently, and validates every key
record found (RFC 6376 §3.6.1; Ed25519 keys RFC 8463; key sizes RFC 8301 §3.2).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from reputation.checks.descriptor import Check
from reputation.context import Context
from reputation.dns.cache import Querier
from reputation.dns.resolver import Answer
from reputation.inputs import BadInput, parse_selector
from reputation.knowledge import load_data
from reputation.protocols.dkim import (
    MIN_RSA_BITS,
    RECOMMENDED_RSA_BITS,
    DkimKey,
    key_name,
    looks_like_key,
    parse_key_record,
)
from reputation.report import CheckResult, Finding, Status

ID = "dkim"
# Each finding code, its usual status, and what leaves it undecided (default: undecided_by).
FINDINGS = """
    dkim_found             pass
    dkim_not_found         warn
    dkim_selector_missing  warn
    dkim_selector_invalid  warn
    dkim_revoked           fail
    dkim_weak_key          warn
    dkim_invalid           fail
    dkim_testing           warn
    dkim_multiple          warn
    dkim_unverified        error
    dkim_probe_unverified  skip
    """

REMEDIES = {
    "dkim_not_found": "Find your selector in the s= tag of the DKIM-Signature header of a "
    "message you sent and re-run with --dkim-selector NAME; if there is "
    "no such header, turn on DKIM signing at your mail provider (Gmail "
    "requires SPF or DKIM from every sender, both from bulk senders).",
    "dkim_selector_missing": "Publish the key for that selector at "
    "<selector>._domainkey.<domain>, or check the name against "
    "the s= tag of your DKIM-Signature headers.",
    "dkim_selector_invalid": "Give the selector as it appears in the s= tag, e.g. "
    "--dkim-selector s1.",
    "dkim_revoked": "Publish the current key at that selector, or delete the revoked "
    "record once no mail is signed with it.",
    "dkim_weak_key": "Generate a 2048-bit RSA key and publish it under a new selector: "
    "RFC 8301 forbids verifying with keys under 1024 bits and Gmail "
    "requires at least 1024.",
    "dkim_invalid": "Republish the key record exactly as your signer gives it: v=DKIM1; "
    "k=rsa; p=<base64 public key>, tags separated by semicolons.",
    "dkim_testing": "Remove t=y once DKIM works: verifiers treat mail signed in test mode "
    "like unsigned mail.",
    "dkim_multiple": "Publish a single key record per selector.",
    "dkim_unverified": "Re-run when DNS answers.",
}

CHECK = Check(
    ID,
    FINDINGS,
    REMEDIES,
    undecided_by=("dkim_unverified",),
    asks_domain_dns=True,
    judges_from_domain=True,
    suggestive={
        "dkim_not_found": (
            "dkim_selector_missing",
            "no DKIM key at the common selectors, but yours may have another name (--dkim-selector)",
        ),
    },
)


@dataclass(frozen=True)
class Selector:
    name: str
    used_by: str
    source: str


@cache
def default_selectors() -> tuple[Selector, ...]:
    return tuple(Selector(**entry) for entry in load_data("dkim_selectors.toml")["selector"])


def selectors_to_probe(user: Iterable[str], domain: str) -> tuple[list[str], list[str], list[str]]:
    """(selectors in probe order: the user's first, then the defaults, without repeats;
    the user's valid selectors; the user's entries that cannot be selectors)."""
    mine: list[str] = []
    invalid: list[str] = []
    for text in user:
        try:
            name = parse_selector(text, domain)
        except BadInput:
            invalid.append(text)
            continue
        if name not in mine:
            mine.append(name)
    ordered = list(dict.fromkeys([*mine, *(s.name for s in default_selectors())]))
    return ordered, mine, invalid


@dataclass(frozen=True)
class Probe:
    selector: str
    mine: bool  # named by the user
    answer: Answer
    keys: tuple[DkimKey, ...]

    @property
    def found(self) -> bool:
        return bool(self.keys)


async def probe(resolver: Querier, selector: str, domain: str, mine: bool) -> Probe:
    answer = await resolver.query(key_name(selector, domain), "TXT")
    texts = answer.records if answer.ok else []
    keys = tuple(parse_key_record(t) for t in texts if looks_like_key(t))
    return Probe(selector, mine, answer, keys)


async def run(ctx: Context) -> CheckResult:
    domain = ctx.author.ascii
    user = getattr(ctx.options, "dkim_selectors", ()) or ()
    ordered, mine, invalid = selectors_to_probe(user, domain)
    probes = await asyncio.gather(*(probe(ctx.resolver, s, domain, s in mine) for s in ordered))
    findings = [_invalid_selector(text) for text in invalid]
    for result in probes:
        findings += _probe_findings(result, domain)
    findings += _absence_findings(list(probes), domain)
    return _result(_soften_rotation(findings))


def _invalid_selector(text: str) -> Finding:
    return CHECK.finding(
        "dkim_selector_invalid", f"--dkim-selector {text!r} is not a selector name; not probed"
    )


def _probe_findings(result: Probe, domain: str) -> list[Finding]:
    evidence = [result.answer.evidence()]
    where = f"selector {result.selector} ({key_name(result.selector, domain)}"
    where += f", CNAME to {result.answer.cnames[-1]}: hosted key)" if result.answer.cnames else ")"
    findings: list[Finding] = []
    if result.mine and result.answer.unverified:
        findings.append(CHECK.finding("dkim_unverified", f"could not look up {where}", evidence))
    elif result.mine and not result.found:
        findings.append(
            CHECK.finding(
                "dkim_selector_missing",
                f"no DKIM key at {where}: mail signed with it fails DKIM",
                evidence,
            )
        )
    for key in result.keys:
        findings += _key_findings(key, where, [*evidence, f"parsed: {_shown(key)}"])
    if len(result.keys) > 1:
        findings.append(
            CHECK.finding(
                "dkim_multiple",
                f"{len(result.keys)} key records at {where}: verifiers may pick either",
                evidence,
            )
        )
    return findings


def _shown(key: DkimKey) -> str:
    shown = [f"{n}={v if n != 'p' or len(v) <= 24 else v[:20] + '...'}" for n, v in key.tags]
    return " | ".join(shown) or key.raw


def _key_findings(key: DkimKey, where: str, evidence: list[str]) -> list[Finding]:
    if key.problems:
        return [
            CHECK.finding(
                "dkim_invalid", f"invalid DKIM key record at {where}: {problem}", evidence
            )
            for problem in key.problems
        ]
    if key.revoked:
        return [
            CHECK.finding(
                "dkim_revoked",
                f"the key at {where} is revoked (empty p=): signatures with it fail",
                evidence,
            )
        ]
    findings = [_strength_finding(key, where, evidence)]
    if key.testing:
        findings.append(
            CHECK.finding(
                "dkim_testing",
                f"the key at {where} is in testing mode (t=y): verifiers must treat mail signed "
                "with it like unsigned mail (RFC 6376 §3.6.1)",
                evidence,
            )
        )
    return findings


def _strength_finding(key: DkimKey, where: str, evidence: list[str]) -> Finding:
    if key.weak:
        return CHECK.finding(
            "dkim_weak_key",
            f"the key at {where} is RSA {key.bits}-bit: verifiers must not accept signatures "
            f"from keys under {MIN_RSA_BITS} bits (RFC 8301 §3.2) and Gmail requires at least "
            f"{MIN_RSA_BITS}",
            evidence,
        )
    advice = ""
    if key.key_type == "rsa" and key.bits is not None and key.bits < RECOMMENDED_RSA_BITS:
        advice = f" (RFC 8301 recommends {RECOMMENDED_RSA_BITS})"
    return CHECK.finding("dkim_found", f"DKIM {key.describe()}{advice} at {where}", evidence)


def _absence_findings(probes: list[Probe], domain: str) -> list[Finding]:
    if any(p.found for p in probes):
        failed = [p for p in probes if p.answer.unverified and not p.mine]
        if not failed:
            return []
        names = ", ".join(p.selector for p in failed)
        return [
            CHECK.finding(
                "dkim_probe_unverified",
                f"lookups of selectors {names} failed; keys found elsewhere are enough",
                [p.answer.evidence() for p in failed],
            )
        ]
    probed = ", ".join(p.selector for p in probes)
    failed = [p for p in probes if p.answer.unverified]
    if failed:
        # A selector whose lookup failed may be the one that holds the key: nothing is concluded.
        every = (
            "any DKIM selector" if len(failed) == len(probes) else f"{len(failed)} DKIM selectors"
        )
        return [
            CHECK.finding(
                "dkim_unverified",
                f"could not look up {every} of {domain} ({', '.join(p.selector for p in failed)}), "
                "and no key was found at the others",
                [p.answer.evidence() for p in failed[:3]] + [f"probed: {probed}"],
            )
        ]
    return [
        CHECK.finding(
            "dkim_not_found",
            f"no DKIM key found at the {len(probes)} selectors probed: selectors cannot "
            "be listed from DNS, so yours may just have another name; find it in the s= tag of "
            "a DKIM-Signature header you sent and pass --dkim-selector NAME",
            [f"probed TXT <selector>._domainkey.{domain} for: {probed}"],
        )
    ]


def _soften_rotation(findings: list[Finding]) -> list[Finding]:
    """A revoked key next to a live one is what key rotation leaves behind: mail is signed with
    the live key, the old selector is revoked on purpose. So revoked is a warning then, and a
    failure only when no live key was found (whatever signs the mail, it is not a live key we
    can see)."""
    if not any(f.code in ("dkim_found", "dkim_weak_key") for f in findings):
        return findings
    rotated = " (another selector has a live key: fine after a key rotation)"
    return [
        dataclasses.replace(f, status=Status.WARN, message=f.message + rotated)
        if f.code == "dkim_revoked"
        else f
        for f in findings
    ]


def _result(findings: list[Finding]) -> CheckResult:
    for status in (Status.FAIL, Status.ERROR, Status.WARN):
        bad = next((f for f in findings if f.status is status), None)
        if bad is not None:
            return CHECK.result(bad.message, findings)
    found = [f for f in findings if f.code == "dkim_found"]
    summary = found[0].message if len(found) == 1 else f"DKIM keys at {len(found)} selectors"
    return CHECK.result(summary, findings)
