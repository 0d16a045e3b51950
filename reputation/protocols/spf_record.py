"""SPF records (RFC 7208 §4.5, §4.6, §5, §6) and macro-strings (§7.1): text to structure.

`parse_record()` reads a whole `v=spf1` record into its mechanisms and its redirect= and exp=
modifiers; any break of the grammar is an SpfSyntaxError naming the term (a permerror when
evaluated). Nothing here asks DNS: expansion and evaluation live in spf_macros and spf.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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


# ---------------------------------------------------------------- macro-strings (§7.1)

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
