"""SPF (RFC 7208): may this IP send mail for this domain? Evaluated on the run's Resolver.

`check_host()` is RFC 7208 §4: fetch the domain's one `v=spf1` TXT record, parse all of it
(any syntax error is a permerror), then try its mechanisms in order; the first that matches
decides, by its qualifier. `include:` asks the same question of another domain, `redirect=`
hands the whole question over, `exp=` words the explanation of a fail. Macros (§7) are
expanded as terms are reached. The limits of §4.6.4 hold across the whole evaluation: at most
10 DNS-querying terms, 2 void lookups, 10 MX names per `mx`, 10 PTR names per `ptr`.

Every step is kept in `SpfResult.path`, so a user can see why the answer is what it is.
Records are parsed in spf_record, macros expanded in spf_macros.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import ClassVar

from reputation import facts
from reputation.dns.resolver import Answer, Resolver, display_name
from reputation.inputs import IPAddress, spf_domain, split_sender
from reputation.protocols.spf_macros import (
    MAX_PTR_NAMES,
    MacroExpander,
    fit,
    query_name,
    sender_address,
    validated_names,
    within,
)
from reputation.protocols.spf_record import (
    LOOKUP_TERMS,
    QUALIFIERS,
    MacroString,
    Mechanism,
    SpfCode,
    SpfRecord,
    SpfSyntaxError,
    is_spf_record,
    parse_record,
)
from reputation.records import FlatRecord

MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2
MAX_MX_NAMES = 10


# ---------------------------------------------------------------- the result


@dataclass(frozen=True)
class SpfStep(FlatRecord):
    """One step of an evaluation: a record read, a term tried, or why evaluation stopped."""

    depth: int  # 0 for the checked domain, +1 per include/redirect
    domain: str  # the domain whose record this step belongs to
    text: str  # the step as one readable line (without indentation)
    term: str = ""  # the mechanism or modifier, as written
    record: str = ""  # the SPF record, on the step that read it
    result: str = ""  # the result this step produced, if it produced one
    note: str = ""  # why: what the lookup returned, or the error

    def line(self) -> str:
        return "  " * self.depth + self.text


@dataclass
class SpfResult(FlatRecord):
    result: SpfCode
    identity: str  # "mailfrom" or "helo"
    domain: str
    explanation: str = ""  # for a fail: the domain's exp= text, or default_explanation()
    lookups: int = 0  # DNS-querying terms evaluated (limit MAX_LOOKUPS)
    void_lookups: int = 0  # of those, lookups that found nothing (limit MAX_VOID_LOOKUPS)
    path: list[SpfStep] = field(default_factory=list)

    @property
    def decided_by(self) -> SpfStep | None:
        """The step that produced the final result (the last one that produced any)."""
        return next((step for step in reversed(self.path) if step.result), None)

    @property
    def reason(self) -> str:
        step = self.decided_by
        if step is None:
            return ""
        return step.note or step.text

    def lines(self) -> list[str]:
        return [step.line() for step in self.path]


def default_explanation(ip: IPAddress, domain: str) -> str:
    """The explanation of a fail when the domain gives none (no exp=, or an unusable one)."""
    return f"{sender_address(ip)} is not authorised to send mail for {domain}"


def _checkable_name(domain: str) -> str | None:
    """§4.3: a domain check_host() can evaluate: a well-formed, multi-label name."""
    bare = domain[:-1] if domain.endswith(".") else domain
    if "." not in bare or bare.startswith("["):
        return None
    return query_name(bare)


def _parenthesised(note: str) -> str:
    return f" ({note})" if note else ""


# ---------------------------------------------------------------- evaluation (§4, §5)


class _Stop(Exception):
    """Evaluation ends here with a permerror or temperror, however deep in includes."""

    def __init__(self, code: SpfCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class _Verdict:
    code: SpfCode
    explanation: MacroString | None = None  # exp= of the record that produced a fail
    explanation_domain: str = ""


@dataclass(frozen=True)
class _Match:
    matched: bool
    note: str = ""


class _Evaluation:
    """The state of one check_host(): the identity, the counters and the path so far."""

    def __init__(self, resolver: Resolver, ip: IPAddress, sender: str, helo: str) -> None:
        self.resolver = resolver
        self.macros = MacroExpander(resolver, ip, sender, helo)
        self.ip = self.macros.ip
        self.lookups = 0
        self.void_lookups = 0
        self.path: list[SpfStep] = []

    # -- the path

    def note(self, depth: int, domain: str, text: str, **fields: str) -> None:
        self.path.append(SpfStep(depth, domain, text, **fields))

    def stop(self, code: SpfCode, depth: int, domain: str, reason: str, term: str = "") -> _Stop:
        text = f"{term} → {code}: {reason}" if term else f"{domain}: {code}: {reason}"
        self.note(depth, domain, text, term=term, result=code, note=reason)
        return _Stop(code, reason)

    # -- one domain's record

    async def check_domain(self, domain: str, depth: int) -> _Verdict:
        name = _checkable_name(domain)
        if name is None:
            why = "not a valid domain name, so it cannot have an SPF record"
            self.note(depth, domain, f"{domain}: {why} → none", result=SpfCode.NONE, note=why)
            return _Verdict(SpfCode.NONE)
        text = await self.fetch_record(name, domain, depth)
        if text is None:
            return _Verdict(SpfCode.NONE)
        self.note(depth, domain, f'{domain}: "{text}"', record=text)
        try:
            record = parse_record(text)
        except SpfSyntaxError as exc:
            raise self.stop(SpfCode.PERMERROR, depth, domain, f"syntax error: {exc}") from None
        return await self.evaluate_record(record, domain, depth)

    async def fetch_record(self, name: str, domain: str, depth: int) -> str | None:
        answer = await self.resolver.query(name, "TXT")
        if answer.unverified:
            reason = f"could not fetch the SPF record ({answer.evidence()})"
            raise self.stop(SpfCode.TEMPERROR, depth, domain, reason)
        records = [text for text in answer.records if is_spf_record(text)] if answer.ok else []
        if len(records) > 1:
            reason = f"{len(records)} SPF records published; there must be exactly one"
            raise self.stop(SpfCode.PERMERROR, depth, domain, reason)
        if not records:
            why = f"no SPF record ({answer.evidence()})"
            self.note(depth, domain, f"{domain}: {why} → none", result=SpfCode.NONE, note=why)
            return None
        return records[0]

    async def evaluate_record(self, record: SpfRecord, domain: str, depth: int) -> _Verdict:
        for mechanism in record.mechanisms:
            match = await self.try_mechanism(mechanism, domain, depth)
            if match.matched:
                code = QUALIFIERS[mechanism.qualifier]
                text = f"{mechanism.text} matched → {code}" + _parenthesised(match.note)
                self.note(depth, domain, text, term=mechanism.text, result=code, note=match.note)
                explanation = record.explanation if code is SpfCode.FAIL else None
                return _Verdict(code, explanation, domain)
            text = f"{mechanism.text} (no match" + (f": {match.note})" if match.note else ")")
            self.note(depth, domain, text, term=mechanism.text, note=match.note)
        if record.redirect is not None:
            return await self.follow_redirect(record.redirect, domain, depth)
        why = "no mechanism matched and there is no redirect"
        self.note(depth, domain, f"{domain}: {why} → neutral", result=SpfCode.NEUTRAL, note=why)
        return _Verdict(SpfCode.NEUTRAL)

    async def follow_redirect(self, spec: MacroString, domain: str, depth: int) -> _Verdict:
        term = f"redirect={spec}"
        self.count_lookup(term, domain, depth)
        target = fit(await self.macros.expand(spec, domain))
        self.note(
            depth, domain, f"{term}: nothing matched, so {target}'s policy decides", term=term
        )
        verdict = await self.check_domain(target, depth + 1)
        if verdict.code is SpfCode.NONE:
            reason = f"the redirect target {target} has no SPF record"
            raise self.stop(SpfCode.PERMERROR, depth, domain, reason, term)
        return verdict

    # -- mechanisms

    async def try_mechanism(self, mechanism: Mechanism, domain: str, depth: int) -> _Match:
        if mechanism.kind in LOOKUP_TERMS:
            self.count_lookup(mechanism.text, domain, depth)
        handler = self._handlers[mechanism.kind]
        return await handler(self, mechanism, domain, depth)

    async def _all(self, mechanism: Mechanism, domain: str, depth: int) -> _Match:
        return _Match(True)

    async def _network(self, mechanism: Mechanism, domain: str, depth: int) -> _Match:
        assert mechanism.network is not None
        return _Match(self.ip in mechanism.network)

    async def _include(self, mechanism: Mechanism, domain: str, depth: int) -> _Match:
        target = await self.target(mechanism, domain)
        verdict = await self.check_domain(target, depth + 1)
        if verdict.code is SpfCode.NONE:
            reason = f"{target} has no SPF record to include"
            raise self.stop(SpfCode.PERMERROR, depth, domain, reason, mechanism.text)
        return _Match(verdict.code is SpfCode.PASS, f"{target} says {verdict.code}")

    async def _a(self, mechanism: Mechanism, domain: str, depth: int) -> _Match:
        found = await self.query_target(mechanism, domain, depth, facts.address_type(self.ip))
        if isinstance(found, _Match):
            return found
        _, answer, note = found
        return _Match(self.covered(answer, mechanism), note)

    async def _mx(self, mechanism: Mechanism, domain: str, depth: int) -> _Match:
        found = await self.query_target(mechanism, domain, depth, "MX")
        if isinstance(found, _Match):
            return found
        name, answer, note = found
        if not answer.ok:
            return _Match(False, note)
        if len(answer.rdata) > MAX_MX_NAMES:
            reason = f"{name} has {len(answer.rdata)} MX records; SPF allows {MAX_MX_NAMES}"
            raise self.stop(SpfCode.PERMERROR, depth, domain, reason, mechanism.text)
        ordered = sorted(answer.rdata, key=lambda rd: rd.preference)
        hosts = [host for host in (display_name(rd.exchange) for rd in ordered) if host != "."]
        addresses = await asyncio.gather(
            *(self.resolver.query(host, facts.address_type(self.ip)) for host in hosts)
        )
        for host, found in zip(hosts, addresses, strict=True):
            if found.unverified:
                reason = f"could not resolve MX host {host} ({found.evidence()})"
                raise self.stop(SpfCode.TEMPERROR, depth, domain, reason, mechanism.text)
            if self.covered(found, mechanism):
                return _Match(True, f"MX host {host}")
        return _Match(False, f"MX hosts {', '.join(hosts) or '(none)'}")

    async def _ptr(self, mechanism: Mechanism, domain: str, depth: int) -> _Match:
        target = await self.target(mechanism, domain)
        answer = await self.resolver.query(self.ip.reverse_pointer, "PTR")
        if answer.unverified:  # §5.5: a failed PTR lookup is no match, not an error
            return _Match(False, answer.evidence())
        note = self.judge(answer, mechanism.text, domain, depth)
        names = facts.ptr_names(answer)[:MAX_PTR_NAMES]
        candidates = [name for name in names if within(name, target)]
        validated = await validated_names(self.resolver, self.ip, candidates)
        if validated:
            return _Match(True, f"{self.ip} is {validated[0]}")
        return _Match(False, note or f"no validated PTR name within {target}")

    async def _exists(self, mechanism: Mechanism, domain: str, depth: int) -> _Match:
        found = await self.query_target(mechanism, domain, depth, "A")
        if isinstance(found, _Match):
            return found
        _, answer, note = found
        return _Match(answer.ok, note)

    _handlers: ClassVar[
        dict[str, Callable[[_Evaluation, Mechanism, str, int], Awaitable[_Match]]]
    ] = {
        "all": _all,
        "ip4": _network,
        "ip6": _network,
        "include": _include,
        "a": _a,
        "mx": _mx,
        "ptr": _ptr,
        "exists": _exists,
    }

    # -- helpers of the mechanisms

    async def target(self, mechanism: Mechanism, domain: str) -> str:
        if mechanism.target is None:
            return domain
        return fit(await self.macros.expand(mechanism.target, domain))

    async def query_target(
        self, mechanism: Mechanism, domain: str, depth: int, rdtype: str
    ) -> tuple[str, Answer, str] | _Match:
        """Look up the mechanism's target: its query name, the answer, and what the answer found
        (for the path); a non-match when the target is not a valid DNS name."""
        target = await self.target(mechanism, domain)
        name = query_name(target)
        if name is None:
            return _Match(False, f"{target!r} is not a valid DNS name")
        answer = await self.resolver.query(name, rdtype)
        return name, answer, self.judge(answer, mechanism.text, domain, depth)

    def judge(self, answer: Answer, term: str, domain: str, depth: int) -> str:
        """Stop on a failed lookup, count a void one; what the lookup found, for the path."""
        if answer.unverified:
            raise self.stop(SpfCode.TEMPERROR, depth, domain, answer.evidence(), term)
        if not answer.absent:
            return answer.evidence()
        self.void_lookups += 1
        if self.void_lookups > MAX_VOID_LOOKUPS:
            reason = (
                f"more than {MAX_VOID_LOOKUPS} lookups found nothing "
                f"(the last: {answer.evidence()}); RFC 7208 §4.6.4"
            )
            raise self.stop(SpfCode.PERMERROR, depth, domain, reason, term)
        return f"{answer.evidence()}; void lookup {self.void_lookups} of {MAX_VOID_LOOKUPS}"

    def count_lookup(self, term: str, domain: str, depth: int) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            reason = (
                f"more than {MAX_LOOKUPS} DNS-querying terms (include, a, mx, ptr, exists, "
                "redirect); RFC 7208 §4.6.4"
            )
            raise self.stop(SpfCode.PERMERROR, depth, domain, reason, term)

    def covered(self, answer: Answer, mechanism: Mechanism) -> bool:
        if not answer.ok:
            return False
        prefix = mechanism.cidr4 if self.ip.version == 4 else mechanism.cidr6
        return any(
            self.ip in ipaddress.ip_network((rd.address, prefix), strict=False)
            for rd in answer.rdata
        )

    # -- explanation (§6.2)

    async def explain(self, verdict: _Verdict, identity_domain: str) -> str:
        text = None
        if verdict.explanation is not None:
            text = await self.macros.explanation_text(
                verdict.explanation, verdict.explanation_domain
            )
        return text if text is not None else default_explanation(self.ip, identity_domain)


# ---------------------------------------------------------------- entry points


async def check_host(
    resolver: Resolver,
    ip: IPAddress,
    domain: str,
    sender: str,
    helo: str,
    *,
    identity: str = "mailfrom",
) -> SpfResult:
    """RFC 7208 §4: the SPF result for `ip` sending as `sender` (local@domain) for `domain`."""
    evaluation = _Evaluation(resolver, ip, sender, helo)
    try:
        verdict = await evaluation.check_domain(domain, 0)
    except _Stop as stop:
        verdict = _Verdict(stop.code)
    explanation = ""
    if verdict.code is SpfCode.FAIL:
        explanation = await evaluation.explain(verdict, domain)
    return SpfResult(
        result=verdict.code,
        identity=identity,
        domain=domain,
        explanation=explanation,
        lookups=evaluation.lookups,
        void_lookups=evaluation.void_lookups,
        path=evaluation.path,
    )


async def evaluate(
    resolver: Resolver, ip: IPAddress, sender: str | None, helo: str | None
) -> SpfResult:
    """Check the MAIL FROM identity, or with an empty sender the HELO identity (§2.3, §2.4).

    A sender without '@', or without a local-part, is postmaster at that domain; senders and
    HELO names are read by the same rules as on the command line (`inputs.split_sender`).
    """
    mail_from = split_sender(sender)
    greeting = spf_domain(helo or "")
    if mail_from is not None:
        local, domain = mail_from
        return await check_host(
            resolver, ip, domain, f"{local}@{domain}", greeting, identity="mailfrom"
        )
    if not greeting:
        why = "no MAIL FROM and no HELO name: there is no identity to check"
        step = SpfStep(0, "", why, result=SpfCode.NONE, note=why)
        return SpfResult(SpfCode.NONE, "helo", "", path=[step])
    return await check_host(
        resolver, ip, greeting, f"postmaster@{greeting}", greeting, identity="helo"
    )
