"""SPF (RFC 7208): may this IP send mail for this domain? Evaluated on the run's Resolver.

`check_host()` is RFC 7208 §4: fetch the domain's one `v=spf1` TXT record, parse all of it
(any syntax error is a permerror), then try its mechanisms in order; the first that matches
decides, by its qualifier. `include:` asks the same question of another domain, `redirect=`
hands the whole question over, `exp=` words the explanation of a fail. Macros (§7) are
expanded as terms are reached. The limits of §4.6.4 hold across the whole evaluation: at most
10 DNS-querying terms, 2 void lookups, 10 MX names per `mx`, 10 PTR names per `ptr`.

Every step is kept in `SpfResult.path`, so a user can see why the answer is what it is.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import dns.exception
import dns.name

from reputation import facts
from reputation.dns.resolver import Answer, Resolver, display_name
from reputation.inputs import IPAddress, spf_domain, split_sender

MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2
MAX_MX_NAMES = 10
MAX_PTR_NAMES = 10
MAX_DOMAIN_LENGTH = 253
VERSION = "v=spf1"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SpfCode(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    PERMERROR = "permerror"
    TEMPERROR = "temperror"


QUALIFIERS = {"+": SpfCode.PASS, "-": SpfCode.FAIL, "~": SpfCode.SOFTFAIL, "?": SpfCode.NEUTRAL}
LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists"})  # and the redirect modifier


class SpfSyntaxError(ValueError):
    """A record, term or macro that breaks the RFC 7208 grammar; the message names it."""


# ---------------------------------------------------------------- the result


@dataclass(frozen=True)
class SpfStep:
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "domain": self.domain,
            "text": self.text,
            "term": self.term,
            "record": self.record,
            "result": self.result,
            "note": self.note,
        }


@dataclass
class SpfResult:
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": str(self.result),
            "identity": self.identity,
            "domain": self.domain,
            "explanation": self.explanation,
            "lookups": self.lookups,
            "void_lookups": self.void_lookups,
            "path": [step.to_dict() for step in self.path],
        }


def default_explanation(ip: IPAddress, domain: str) -> str:
    """The explanation of a fail when the domain gives none (no exp=, or an unusable one)."""
    return f"{sender_address(ip)} is not authorised to send mail for {domain}"


# ---------------------------------------------------------------- macros (§7)

DOMAIN_LETTERS = frozenset("slodipvh")
EXPLANATION_LETTERS = DOMAIN_LETTERS | frozenset("crt")
_ESCAPES = {"%": "%", "_": " ", "-": "%20"}
_MACRO_BODY = re.compile(r"([a-z])(\d*)(r?)([.\-+,/_=]*)", re.IGNORECASE)
_TOPLABEL = re.compile(r"[a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9]", re.IGNORECASE)


@dataclass(frozen=True)
class Macro:
    letter: str  # lower case
    keep: int  # how many right-hand parts to keep; 0 keeps all
    reverse: bool
    delimiters: str  # split on these; "" means "."
    url_escape: bool  # the letter was upper case


@dataclass(frozen=True)
class MacroString:
    source: str
    tokens: tuple[str | Macro, ...]
    trailing_literal: str  # literal text after the last macro-expand

    def __str__(self) -> str:
        return self.source


def parse_macro_string(
    text: str, letters: frozenset[str] = EXPLANATION_LETTERS, *, spaces: bool = False
) -> MacroString:
    """Tokens of a macro-string; `spaces` allows SP, as explanation text does."""
    tokens: list[str | Macro] = []
    literal = ""
    position = 0
    while position < len(text):
        char = text[position]
        if char != "%":
            _check_literal(char, text, spaces)
            literal += char
            position += 1
            continue
        if literal:
            tokens.append(literal)
            literal = ""
        token, position = _parse_expand(text, position, letters)
        tokens.append(token)
    if literal:
        tokens.append(literal)
    return MacroString(text, tuple(tokens), literal)


def _check_literal(char: str, text: str, spaces: bool) -> None:
    if "!" <= char <= "~" or (spaces and char == " "):
        return
    raise SpfSyntaxError(f"character {char!r} is not allowed in {text!r}")


def _parse_expand(text: str, position: int, letters: frozenset[str]) -> tuple[str | Macro, int]:
    """The macro-expand starting at text[position] ('%') and the position after it."""
    follower = text[position + 1 : position + 2]
    if follower in _ESCAPES:
        return _ESCAPES[follower], position + 2
    if follower != "{":
        raise SpfSyntaxError(f"'%' must be followed by '{{', '%', '_' or '-' in {text!r}")
    end = text.find("}", position + 2)
    body = _MACRO_BODY.fullmatch(text[position + 2 : end]) if end > 0 else None
    if body is None:
        raise SpfSyntaxError(f"malformed macro in {text!r}")
    letter, digits, reverse, delimiters = body.groups()
    if letter.lower() not in letters:
        raise SpfSyntaxError(f"macro letter {letter!r} is not allowed here ({text!r})")
    if digits and int(digits) == 0:
        raise SpfSyntaxError(f"macro digit transformer must not be 0 ({text!r})")
    macro = Macro(letter.lower(), int(digits or 0), bool(reverse), delimiters, letter.isupper())
    return macro, end + 1


def parse_domain_spec(text: str) -> MacroString:
    """A domain-spec: a macro-string ending in a macro or in '.' toplabel ['.'] (§7.1)."""
    if not text:
        raise SpfSyntaxError("empty domain-spec")
    spec = parse_macro_string(text, DOMAIN_LETTERS)
    tail = spec.trailing_literal
    if not tail:
        return spec  # ends with a macro-expand
    tail = tail[:-1] if tail.endswith(".") else tail
    if "." not in tail or not _TOPLABEL.fullmatch(tail.rsplit(".", 1)[1]):
        raise SpfSyntaxError(f"{text!r} is not a domain name (it must end in a valid top label)")
    return spec


def _transform(value: str, macro: Macro) -> str:
    parts = re.split(f"[{re.escape(macro.delimiters or '.')}]", value)
    if macro.reverse:
        parts.reverse()
    if macro.keep:
        parts = parts[-macro.keep :]
    joined = ".".join(parts)
    return urllib.parse.quote(joined, safe="") if macro.url_escape else joined


# ---------------------------------------------------------------- records (§4.5, §4.6, §5, §6)


@dataclass(frozen=True)
class Mechanism:
    text: str  # as written
    qualifier: str  # + - ~ ?
    kind: str  # all include a mx ptr ip4 ip6 exists
    target: MacroString | None = None  # domain-spec, when given
    network: IPNetwork | None = None  # ip4 / ip6
    cidr4: int = 32
    cidr6: int = 128


@dataclass(frozen=True)
class SpfRecord:
    text: str
    mechanisms: tuple[Mechanism, ...]
    redirect: MacroString | None = None
    explanation: MacroString | None = None


_MODIFIER = re.compile(r"([a-z][a-z0-9_.\-]*)=(.*)", re.IGNORECASE | re.DOTALL)
_MECHANISM = re.compile(r"([+\-~?]?)([a-z][a-z0-9]*)(.*)", re.IGNORECASE | re.DOTALL)
_SPEC_AND_CIDR = re.compile(r"(.*?)((?:/\d+)?(?://\d+)?)", re.DOTALL)
_DUAL_CIDR = re.compile(r"(?:/(\d+))?(?://(\d+))?")
_NETWORK = re.compile(r"([^/]+)(?:/(\d+))?", re.DOTALL)
_ADDRESS_CHARS = {4: re.compile(r"[0-9.]+"), 6: re.compile(r"[0-9a-f:.]+", re.IGNORECASE)}


def is_spf_record(text: str) -> bool:
    """True for a record that declares SPF version 1: 'v=spf1' alone or followed by a space."""
    head = text[: len(VERSION) + 1].lower()
    return head == VERSION or head == VERSION + " "


def parse_record(text: str) -> SpfRecord:
    """Parse a whole record; raise SpfSyntaxError on the first term that breaks the grammar."""
    if not text.isascii():
        raise SpfSyntaxError("the record contains non-ASCII characters")
    if not is_spf_record(text):
        raise SpfSyntaxError(f"{text!r} does not start with {VERSION!r}")
    mechanisms: list[Mechanism] = []
    modifiers: dict[str, MacroString] = {}
    for term in text[len(VERSION) :].split(" "):
        if not term:
            continue
        modifier = _MODIFIER.fullmatch(term)
        if modifier is not None:
            _add_modifier(modifiers, modifier.group(1).lower(), modifier.group(2))
        else:
            mechanisms.append(parse_mechanism(term))
    return SpfRecord(text, tuple(mechanisms), modifiers.get("redirect"), modifiers.get("exp"))


def _add_modifier(modifiers: dict[str, MacroString], name: str, value: str) -> None:
    if name not in ("redirect", "exp"):
        parse_macro_string(value)  # unknown modifiers are ignored, but must be well formed
        return
    if name in modifiers:
        raise SpfSyntaxError(f"the {name}= modifier appears more than once")
    try:
        modifiers[name] = parse_domain_spec(value)
    except SpfSyntaxError as exc:
        raise SpfSyntaxError(f"{name}={value}: {exc}") from None


def parse_mechanism(term: str) -> Mechanism:
    match = _MECHANISM.fullmatch(term)
    if match is None:
        raise SpfSyntaxError(f"{term!r} is neither a mechanism nor a modifier")
    qualifier, name, rest = match.groups()
    kind = name.lower()
    parser = _MECHANISM_PARSERS.get(kind)
    if parser is None:
        hint = f" (write {kind}=...)" if kind in ("redirect", "exp") else ""
        raise SpfSyntaxError(f"unknown mechanism {term!r}{hint}")
    try:
        return parser(Mechanism(term, qualifier or "+", kind), rest)
    except SpfSyntaxError as exc:
        raise SpfSyntaxError(f"{term!r}: {exc}") from None


def _parse_all(base: Mechanism, rest: str) -> Mechanism:
    if rest:
        raise SpfSyntaxError("'all' takes no argument")
    return base


def _parse_domain_required(base: Mechanism, rest: str) -> Mechanism:
    if not rest.startswith(":"):
        raise SpfSyntaxError(f"'{base.kind}' needs ':domain'")
    return _replace(base, target=parse_domain_spec(rest[1:]))


def _parse_ptr(base: Mechanism, rest: str) -> Mechanism:
    if not rest:
        return base
    if not rest.startswith(":"):
        raise SpfSyntaxError("'ptr' takes only ':domain'")
    return _replace(base, target=parse_domain_spec(rest[1:]))


def _parse_address_mechanism(base: Mechanism, rest: str) -> Mechanism:
    """a and mx: [":" domain-spec] [dual-cidr-length]."""
    target = None
    cidr_text = rest
    if rest.startswith(":"):
        split = _SPEC_AND_CIDR.fullmatch(rest[1:])
        assert split is not None  # the pattern matches every string
        target = parse_domain_spec(split.group(1))
        cidr_text = split.group(2)
    cidr = _DUAL_CIDR.fullmatch(cidr_text)
    if cidr is None:
        raise SpfSyntaxError(f"bad CIDR length {cidr_text!r}")
    cidr4 = _prefix_length(cidr.group(1), 32)
    cidr6 = _prefix_length(cidr.group(2), 128)
    return _replace(base, target=target, cidr4=cidr4, cidr6=cidr6)


def _parse_network(base: Mechanism, rest: str) -> Mechanism:
    """ip4 and ip6: ":" network ["/" length]."""
    version = 4 if base.kind == "ip4" else 6
    match = _NETWORK.fullmatch(rest[1:]) if rest.startswith(":") else None
    if match is None or not _ADDRESS_CHARS[version].fullmatch(match.group(1)):
        raise SpfSyntaxError(f"'{base.kind}' needs ':<IPv{version} address>[/length]'")
    address_text, length_text = match.groups()
    try:
        address = ipaddress.ip_address(address_text)
    except ValueError:
        raise SpfSyntaxError(f"{address_text!r} is not an IPv{version} address") from None
    if address.version != version:
        raise SpfSyntaxError(f"{address_text!r} is not an IPv{version} address")
    length = _prefix_length(length_text, 32 if version == 4 else 128)
    return _replace(base, network=ipaddress.ip_network((address, length), strict=False))


def _prefix_length(digits: str | None, maximum: int) -> int:
    if digits is None:
        return maximum
    if (len(digits) > 1 and digits.startswith("0")) or int(digits) > maximum:
        raise SpfSyntaxError(f"CIDR length /{digits} is not 0-{maximum}")
    return int(digits)


def _replace(base: Mechanism, **changes: Any) -> Mechanism:
    return Mechanism(**{**base.__dict__, **changes})


_MECHANISM_PARSERS: dict[str, Callable[[Mechanism, str], Mechanism]] = {
    "all": _parse_all,
    "include": _parse_domain_required,
    "exists": _parse_domain_required,
    "a": _parse_address_mechanism,
    "mx": _parse_address_mechanism,
    "ptr": _parse_ptr,
    "ip4": _parse_network,
    "ip6": _parse_network,
}


# ---------------------------------------------------------------- names and addresses


def sender_address(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address is the IPv4 address it carries (§5, "ip4")."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _query_name(domain: str) -> str | None:
    """The domain as the Resolver's query text, or None when no DNS name can be made of it."""
    bare = domain[:-1] if domain.endswith(".") else domain
    if not bare or not bare.isascii():
        return None
    try:
        name = dns.name.Name([label.encode("ascii") for label in bare.split(".")] + [b""])
    except dns.exception.DNSException:
        return None
    return name.to_text(omit_final_dot=True)


def _checkable_name(domain: str) -> str | None:
    """§4.3: a domain check_host() can evaluate: a well-formed, multi-label name."""
    bare = domain[:-1] if domain.endswith(".") else domain
    if "." not in bare or bare.startswith("["):
        return None
    return _query_name(bare)


def _fit(domain: str) -> str:
    """§7.3: an expanded domain without its trailing dot, cut from the left to 253 characters."""
    name = domain[:-1] if domain.endswith(".") else domain
    while len(name) > MAX_DOMAIN_LENGTH and "." in name:
        name = name.split(".", 1)[1]
    return name


def _within(name: str, domain: str) -> bool:
    name, domain = name.lower().rstrip("."), domain.lower().rstrip(".")
    return name == domain or name.endswith("." + domain)


def _parenthesised(note: str) -> str:
    return f" ({note})" if note else ""


def _nibbles(ip: IPAddress) -> str:
    if ip.version == 4:
        return str(ip)
    return ".".join(ip.exploded.replace(":", "").upper())


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
        self.ip = sender_address(ip)
        local, _, domain = sender.rpartition("@")
        self.local = local or "postmaster"
        self.sender_domain = domain
        self.sender = f"{self.local}@{domain}"
        self.helo = helo or "unknown"
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
        target = _fit(await self.expand(spec, domain))
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
        name, target = await self.target_name(mechanism, domain)
        if name is None:
            return _Match(False, f"{target!r} is not a valid DNS name")
        answer = await self.resolver.query(name, facts.address_type(self.ip))
        note = self.judge(answer, mechanism.text, domain, depth)
        return _Match(self.covered(answer, mechanism), note)

    async def _mx(self, mechanism: Mechanism, domain: str, depth: int) -> _Match:
        name, target = await self.target_name(mechanism, domain)
        if name is None:
            return _Match(False, f"{target!r} is not a valid DNS name")
        answer = await self.resolver.query(name, "MX")
        note = self.judge(answer, mechanism.text, domain, depth)
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
        candidates = [name for name in names if _within(name, target)]
        validated = await self.validated(candidates)
        if validated:
            return _Match(True, f"{self.ip} is {validated[0]}")
        return _Match(False, note or f"no validated PTR name within {target}")

    async def _exists(self, mechanism: Mechanism, domain: str, depth: int) -> _Match:
        name, target = await self.target_name(mechanism, domain)
        if name is None:
            return _Match(False, f"{target!r} is not a valid DNS name")
        answer = await self.resolver.query(name, "A")
        note = self.judge(answer, mechanism.text, domain, depth)
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
        return _fit(await self.expand(mechanism.target, domain))

    async def target_name(self, mechanism: Mechanism, domain: str) -> tuple[str | None, str]:
        """The query name of the mechanism's target (None if malformed), and the target."""
        target = await self.target(mechanism, domain)
        return _query_name(target), target

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

    async def validated(self, names: list[str]) -> list[str]:
        """The names that resolve back to the IP; names whose lookup fails are skipped (§5.5)."""
        answers = await asyncio.gather(
            *(self.resolver.query(name, facts.address_type(self.ip)) for name in names)
        )
        return [
            name
            for name, answer in zip(names, answers, strict=True)
            if self.ip in facts.ips_of(answer)
        ]

    # -- macros

    async def expand(self, spec: MacroString, domain: str) -> str:
        parts = [
            token if isinstance(token, str) else _transform(await self.value(token, domain), token)
            for token in spec.tokens
        ]
        return "".join(parts)

    async def value(self, macro: Macro, domain: str) -> str:
        if macro.letter == "p":
            return await self.validated_name(domain)
        values = {
            "s": self.sender,
            "l": self.local,
            "o": self.sender_domain,
            "d": domain,
            "i": _nibbles(self.ip),
            "v": "in-addr" if self.ip.version == 4 else "ip6",
            "h": self.helo,
            "c": str(self.ip),
            "r": "unknown",
            "t": str(int(time.time())),
        }
        return values[macro.letter]

    async def validated_name(self, domain: str) -> str:
        """%{p}: a validated PTR name of the IP, the domain itself or a subdomain preferred."""
        answer = await self.resolver.query(self.ip.reverse_pointer, "PTR")
        validated = await self.validated(facts.ptr_names(answer)[:MAX_PTR_NAMES])
        exact = [name for name in validated if name == domain.lower().rstrip(".")]
        inside = [name for name in validated if _within(name, domain)]
        return next(iter(exact + inside + validated), "unknown")

    # -- explanation (§6.2)

    async def explain(self, verdict: _Verdict, identity_domain: str) -> str:
        text = None
        if verdict.explanation is not None:
            text = await self.explanation_text(verdict.explanation, verdict.explanation_domain)
        return text if text is not None else default_explanation(self.ip, identity_domain)

    async def explanation_text(self, spec: MacroString, domain: str) -> str | None:
        """The exp= text; None when anything about it is unusable (then the default applies)."""
        name = _query_name(_fit(await self.expand(spec, domain)))
        if name is None:
            return None
        answer = await self.resolver.query(name, "TXT")
        if not answer.ok or len(answer.rdata) != 1:
            return None
        try:
            template = parse_macro_string(answer.records[0], EXPLANATION_LETTERS, spaces=True)
        except SpfSyntaxError:
            return None
        return await self.expand(template, domain)


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
