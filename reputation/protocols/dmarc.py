"""Reading a DMARC policy record: pure functions, no DNS.

The rules are RFC 7489 (§6.3 tags, §6.4 grammar, §6.6.3 policy discovery); where DMARCbis,
published as RFC 9989, changed them (np, psd and t tags; pct, rf and ri retired; p no longer
required to follow v) the record is read so that both kinds of receiver are served.

The tag-list syntax is DKIM's (RFC 6376 §3.2), so `parse_tag_list` serves the dkim check too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote

POLICIES = ("none", "quarantine", "reject")
# Unknown tags named one by one; the rest are counted in one problem, so a record of
# thousands of tags still makes a short report.
MAX_UNKNOWN_TAGS_NAMED = 5
MAX_RI = 2**32 - 1

_WSP = " \t\r\n"
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
# RFC 7489 §6.4: dmarc-version = "v" *WSP "=" *WSP %x44 %x4d %x41 %x52 %x43 %x31 (case-sensitive).
_VERSION = re.compile(r"v[ \t]*=[ \t]*DMARC1[ \t]*(?:;|\Z)")
_LOOKS_LIKE_DMARC = re.compile(r"\s*v\s*=\s*dmarc", re.IGNORECASE)
_URI = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(\S+)\Z")
_SIZE = re.compile(r"[0-9]+[kmgtKMGT]?\Z")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_LOCAL_PART = re.compile(r"[^\s@]+\Z")

Severity = Literal["error", "warning"]


class TagListError(ValueError):
    """The text is not a tag-list (RFC 6376 §3.2)."""


@dataclass(frozen=True)
class Problem:
    severity: Severity
    code: str
    message: str


_Checker = Callable[[str, str], list[Problem]]


def _error(message: str) -> Problem:
    return Problem("error", "dmarc_invalid", message)


def _warning(code: str, message: str) -> Problem:
    return Problem("warning", code, message)


def parse_tag_list(text: str) -> list[tuple[str, str]]:
    """tag=value pairs in order. Raises TagListError on anything RFC 6376 §3.2 does not allow.

    Empty specs (a trailing ";", or ";;") carry nothing and are skipped.
    """
    tags: list[tuple[str, str]] = []
    seen: set[str] = set()
    for spec in text.split(";"):
        if not spec.strip(_WSP):
            continue
        name, equals, value = spec.partition("=")
        name, value = name.strip(_WSP), value.strip(_WSP)
        if not equals:
            raise TagListError(f"{spec.strip(_WSP)!r} is not tag=value")
        if not _TAG_NAME.match(name):
            raise TagListError(f"{name!r} is not a valid tag name")
        bad = sorted({c for c in value if not ("!" <= c <= "~" or c in _WSP)})
        if bad:
            raise TagListError(f"tag {name} holds characters a tag value may not: {''.join(bad)!r}")
        if name in seen:
            raise TagListError(f"tag {name} appears twice, which makes the whole record invalid")
        seen.add(name)
        tags.append((name, value))
    return tags


def is_dmarc_record(text: str) -> bool:
    """True when the TXT starts with exactly v=DMARC1 as its first tag (RFC 7489 §6.6.3 step 3)."""
    return _VERSION.match(text) is not None


def looks_like_dmarc(text: str) -> bool:
    """True for text meant as DMARC (v=DMARC..., any case or spacing), exact or not."""
    return _LOOKS_LIKE_DMARC.match(text) is not None


def near_miss_reason(text: str) -> str:
    """Why a TXT that looks like DMARC is not one a receiver will read."""
    if text[:1].isspace():
        return "it starts with white space"
    if not text.startswith("v"):
        return "the tag name is 'V': tag names are case-sensitive, it must be 'v'"
    version = text.split(";", 1)[0].split("=", 1)[-1].strip(_WSP)
    if version.startswith("DMARC1"):
        return "v=DMARC1 is not followed by ';' (tags are separated by semicolons)"
    return f"its version is {version!r}, not exactly 'DMARC1'"


@dataclass(frozen=True)
class ReportUri:
    """One rua/ruf destination."""

    uri: str
    scheme: str
    address: str = ""  # mailbox of a mailto: URI
    host: str = ""  # domain of that mailbox
    size: str = ""  # the "!size" limit as written


@dataclass(frozen=True)
class DmarcRecord:
    raw: str
    tags: tuple[tuple[str, str], ...] = ()
    problems: tuple[Problem, ...] = ()
    p: str | None = None
    sp: str | None = None
    np: str | None = None
    pct: int | None = None
    rua: tuple[ReportUri, ...] = ()
    ruf: tuple[ReportUri, ...] = ()
    adkim: str = "r"
    aspf: str = "r"
    testing: bool = False
    values: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors

    def tag(self, name: str) -> str | None:
        return self.values.get(name)

    def shown(self) -> str:
        """The tags as parsed, one string for evidence."""
        return " | ".join(f"{name}={value}" for name, value in self.tags)


def policy_value(value: str | None) -> str | None:
    """none/quarantine/reject (case-insensitive, as ABNF literals are), or None."""
    if value is None:
        return None
    lowered = value.lower()
    return lowered if lowered in POLICIES else None


def effective_policy(record: DmarcRecord, *, subdomain: bool) -> tuple[str | None, str]:
    """The policy a receiver applies, and which tag it came from.

    RFC 7489 §6.6.3 step 6: a record whose p is missing or invalid, or whose sp is invalid (and,
    with DMARCbis, whose np is invalid), falls back as a whole: it counts as p=none when rua
    holds a valid URI, and otherwise no DMARC policy applies (None). Else a subdomain that found
    its organisational domain's record takes sp (p when sp is absent).
    """
    broken = _broken_policy_tag(record)
    if broken is not None:
        if record.rua:
            return "none", f"{broken}, rua valid"
        return None, broken
    name = "sp" if subdomain and record.tag("sp") is not None else "p"
    return (record.sp if name == "sp" else record.p), name


def _broken_policy_tag(record: DmarcRecord) -> str | None:
    """Which policy tag makes the record fall back, in words, or None when all are usable."""
    if record.p is None:
        return "p invalid or missing"
    for name in ("sp", "np"):
        if record.tag(name) is not None and getattr(record, name) is None:
            return f"{name} invalid"
    return None


def parse_report_uris(tag: str, value: str) -> tuple[list[ReportUri], list[Problem]]:
    """A rua/ruf value: comma-separated URIs, each with an optional !size (RFC 7489 §6.4)."""
    uris: list[ReportUri] = []
    problems: list[Problem] = []
    if not value:
        return [], [
            _error(f"{tag}= is empty: it needs at least one URI, e.g. mailto:dmarc@yourdomain")
        ]
    for item in (part.strip(_WSP) for part in value.split(",")):
        parsed = _report_uri(item)
        if isinstance(parsed, str):
            problems.append(_error(f"{tag}: {parsed}"))
            continue
        uris.append(parsed)
        if parsed.scheme != "mailto":
            problems.append(
                _warning(
                    "dmarc_report_scheme",
                    f"{tag}: {parsed.uri} is not a mailto: URI; receivers only have to support "
                    "mailto (RFC 7489 §6.2)",
                )
            )
    return uris, problems


def _report_uri(item: str) -> ReportUri | str:
    if not item:
        return "an empty entry between commas"
    uri, bang, size = item.partition("!")
    if bang and not _SIZE.match(size):
        return f"{item!r}: the size limit after '!' must be digits with an optional k, m, g or t"
    match = _URI.match(uri)
    if match is None:
        return f"{item!r} is not a URI (a report address needs the mailto: prefix)"
    scheme = match[1].lower()
    if scheme != "mailto":
        return ReportUri(uri, scheme, size=size)
    address = unquote(match[2].split("?", 1)[0])
    local, at, domain = address.rpartition("@")
    host = domain.rstrip(".").lower()
    if not at or not _LOCAL_PART.match(local) or not _is_host_name(host):
        return f"{item!r}: {address!r} is not a mail address"
    return ReportUri(uri, scheme, address=address, host=host, size=size)


def _is_host_name(name: str) -> bool:
    labels = name.split(".")
    return len(name) <= 253 and len(labels) > 1 and all(_HOST_LABEL.match(x) for x in labels)


def _check_policy(tag: str, value: str) -> list[Problem]:
    if policy_value(value) is not None:
        return []
    consequence = (
        "; the whole record then falls back: receivers act as if p=none when rua is valid and "
        "apply no DMARC at all otherwise (RFC 7489 §6.6.3 step 6)"
    )
    return [_error(f"{tag}={value} is not none, quarantine or reject{consequence}")]


def _check_choice(choices: tuple[str, ...]) -> _Checker:
    def check(tag: str, value: str) -> list[Problem]:
        if value.lower() in choices:
            return []
        return [_error(f"{tag}={value} is not one of {', '.join(choices)}")]

    return check


def _check_pct(tag: str, value: str) -> list[Problem]:
    if re.fullmatch(r"[0-9]{1,3}", value) and int(value) <= 100:
        return []
    return [_error(f"pct={value} is not a whole number from 0 to 100")]


def _check_ri(tag: str, value: str) -> list[Problem]:
    if re.fullmatch(r"[0-9]{1,10}", value) and int(value) <= MAX_RI:
        return []
    return [_error(f"ri={value} is not a number of seconds (a 32-bit unsigned integer)")]


def _check_fo(tag: str, value: str) -> list[Problem]:
    options = [o.strip(_WSP) for o in value.split(":")]
    bad = [o for o in options if o.lower() not in ("0", "1", "d", "s")]
    if not bad:
        return []
    return [
        _error(f"fo={value}: {', '.join(map(repr, bad))} not among 0, 1, d, s (colon-separated)")
    ]


def _check_rf(tag: str, value: str) -> list[Problem]:
    formats = [f.strip(_WSP).lower() for f in value.split(":")]
    unknown = [f for f in formats if f != "afrf"]
    if not unknown:
        return []
    # RFC 7489 §6.3: a receiver seeing an unregistered format MAY ignore the entire record.
    return [
        _error(
            f"rf={value}: only afrf is a registered report format; a receiver may ignore the "
            "whole record over an unknown one (RFC 7489 §6.3)"
        )
    ]


def _check_uris(tag: str, value: str) -> list[Problem]:
    return parse_report_uris(tag, value)[1]


_CHECKERS: dict[str, _Checker] = {
    "p": _check_policy,
    "sp": _check_policy,
    "np": _check_policy,  # RFC 9989: policy for non-existent subdomains
    "pct": _check_pct,
    "rua": _check_uris,
    "ruf": _check_uris,
    "adkim": _check_choice(("r", "s")),
    "aspf": _check_choice(("r", "s")),
    "fo": _check_fo,
    "rf": _check_rf,
    "ri": _check_ri,
    "t": _check_choice(("y", "n")),  # RFC 9989: testing mode
    "psd": _check_choice(("y", "n", "u")),  # RFC 9989: public suffix domain flag
}


def parse_record(text: str) -> DmarcRecord:
    """Parse and validate one DMARC TXT record; every problem found is in `problems`."""
    try:
        tags = parse_tag_list(text)
    except TagListError as exc:
        return DmarcRecord(raw=text, problems=(_error(f"syntax error: {exc}"),))
    values = dict(tags)
    problems = _version_problems(tags) + _tag_problems(tags) + _p_problems(tags, values)
    rua = parse_report_uris("rua", values["rua"])[0] if "rua" in values else []
    ruf = parse_report_uris("ruf", values["ruf"])[0] if "ruf" in values else []
    return DmarcRecord(
        raw=text,
        tags=tuple(tags),
        problems=tuple(problems),
        p=policy_value(values.get("p")),
        sp=policy_value(values.get("sp")),
        np=policy_value(values.get("np")),
        pct=int(values["pct"])
        if "pct" in values and not _check_pct("pct", values["pct"])
        else None,
        rua=tuple(rua),
        ruf=tuple(ruf),
        adkim=_mode(values.get("adkim")),
        aspf=_mode(values.get("aspf")),
        testing=values.get("t", "").lower() == "y",
        values=values,
    )


def _mode(value: str | None) -> str:
    return value.lower() if value is not None and value.lower() in ("r", "s") else "r"


def _version_problems(tags: list[tuple[str, str]]) -> list[Problem]:
    if tags and tags[0] == ("v", "DMARC1"):
        return []
    return [_error("the record must start with v=DMARC1 (RFC 7489 §6.3)")]


def _tag_problems(tags: list[tuple[str, str]]) -> list[Problem]:
    problems: list[Problem] = []
    unknown: list[str] = []
    for name, value in tags[1:]:
        checker = _CHECKERS.get(name)
        if checker is not None:
            problems += checker(name, value)
        elif name != "v":  # a v not first is reported by _version_problems
            unknown.append(name)
    problems += [_unknown_tag(name) for name in unknown[:MAX_UNKNOWN_TAGS_NAMED]]
    if len(unknown) > MAX_UNKNOWN_TAGS_NAMED:
        problems.append(_more_unknown_tags(unknown[MAX_UNKNOWN_TAGS_NAMED:]))
    return problems


def _more_unknown_tags(names: list[str]) -> Problem:
    shown = ", ".join(repr(name) for name in names[:MAX_UNKNOWN_TAGS_NAMED])
    more = len(names) - MAX_UNKNOWN_TAGS_NAMED
    tail = f" and {more} more" if more > 0 else ""
    return _warning(
        "dmarc_unknown_tag",
        f"{len(names)} more unknown tags ({shown}{tail}) are ignored by receivers (RFC 7489 §6.3)",
    )


def _unknown_tag(name: str) -> Problem:
    hint = ""
    if name.lower() in _CHECKERS or name.lower() == "v":
        hint = f"; tag names are case-sensitive: did you mean {name.lower()}?"
    return _warning(
        "dmarc_unknown_tag", f"unknown tag {name!r} is ignored by receivers (RFC 7489 §6.3){hint}"
    )


def _p_problems(tags: list[tuple[str, str]], values: dict[str, str]) -> list[Problem]:
    if "p" not in values:
        rua_ok = "rua" in values and bool(parse_report_uris("rua", values["rua"])[0])
        fallback = (
            "receivers following RFC 7489 §6.6.3 treat it as p=none because rua holds a valid "
            "address (RFC 9989 does the same)"
            if rua_ok
            else "with no valid rua either, receivers following RFC 7489 §6.6.3 ignore the record "
            "(RFC 9989 treats it as p=none)"
        )
        return [_error(f"no p= tag, which RFC 7489 requires: {fallback}")]
    if [name for name, _ in tags[:2]] != ["v", "p"]:
        return [
            _warning(
                "dmarc_tag_order",
                "p= does not come right after v=DMARC1: RFC 7489 §6.3 requires that order "
                "(RFC 9989 drops the requirement, older receivers may still expect it)",
            )
        ]
    return []
