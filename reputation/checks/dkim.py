"""dkim: a usable DKIM public key is published at one of the selectors we can guess or were told.

Selectors cannot be listed from DNS, so this probes the user's selectors (--dkim-selector) and a
list of common ones (reputation/data/dkim_selectors.toml) concurrently, and validates every key
record found (RFC 6376 §3.6.1; Ed25519 keys RFC 8463; key sizes RFC 8301 §3.2).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from reputation.checks.descriptor import Check, Code
from reputation.context import Context
from reputation.dns.resolver import Answer, Resolver
from reputation.knowledge import load_data
from reputation.protocols.dmarc import TagListError, parse_tag_list
from reputation.report import CheckResult, Finding, Status

MIN_RSA_BITS = 1024  # RFC 8301 §3.2: verifiers MUST NOT accept smaller keys; Gmail requires it
RECOMMENDED_RSA_BITS = 2048  # RFC 8301 §3.2: signers SHOULD use at least this
ED25519_KEY_BYTES = 32  # RFC 8463 §4.2: p= is the bare 32-byte public key

RSA_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption
ED25519_OID = bytes.fromhex("2b6570")  # 1.3.101.112
_DER_SEQUENCE, _DER_INTEGER, _DER_BIT_STRING, _DER_OID = 0x30, 0x02, 0x03, 0x06

_SELECTOR_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_KEY_TAG = re.compile(r"(?:^|;)[ \t\r\n]*[pk][ \t\r\n]*=")
_WSP = " \t\r\n"

CHECK = Check(
    "dkim",
    undecided_by=("dkim_unverified",),
    asks_domain_dns=True,
    codes={
        "dkim_found": Code(Status.PASS),
        "dkim_not_found": Code(
            Status.WARN,
            "Find your selector in the s= tag of the DKIM-Signature header of a message "
            "you sent and re-run with --dkim-selector NAME; if there is no such header, turn on "
            "DKIM signing at your mail provider (Gmail requires SPF or DKIM from every sender, "
            "both from bulk senders).",
            # Selectors cannot be listed, so "no key at the common selectors" proves no
            # absence of signing, unless the sender named its own selectors.
            confirmed_by="dkim_selector_missing",
            why="no DKIM key at the common selectors, but yours may have another name "
            "(--dkim-selector)",
        ),
        "dkim_selector_missing": Code(
            Status.WARN,
            "Publish the key for that selector at <selector>._domainkey.<domain>, "
            "or check the name against the s= tag of your DKIM-Signature headers.",
        ),
        "dkim_selector_invalid": Code(
            Status.WARN,
            "Give the selector as it appears in the s= tag, e.g. --dkim-selector s1.",
        ),
        "dkim_revoked": Code(
            Status.FAIL,
            "Publish the current key at that selector, or delete the revoked record once "
            "no mail is signed with it.",
        ),
        "dkim_weak_key": Code(
            Status.WARN,
            "Generate a 2048-bit RSA key and publish it under a new selector: RFC 8301 "
            "forbids verifying with keys under 1024 bits and Gmail requires at least 1024.",
        ),
        "dkim_invalid": Code(
            Status.FAIL,
            "Republish the key record exactly as your signer gives it: "
            "v=DKIM1; k=rsa; p=<base64 public key>, tags separated by semicolons.",
        ),
        "dkim_testing": Code(
            Status.WARN,
            "Remove t=y once DKIM works: verifiers treat mail signed in test mode like "
            "unsigned mail.",
        ),
        "dkim_multiple": Code(Status.WARN, "Publish a single key record per selector."),
        "dkim_unverified": Code(Status.ERROR, "Re-run when DNS answers."),
        "dkim_probe_unverified": Code(Status.SKIP),
    },
)
ID = CHECK.id


@dataclass(frozen=True)
class Selector:
    name: str
    used_by: str
    source: str


@cache
def default_selectors() -> tuple[Selector, ...]:
    return tuple(Selector(**entry) for entry in load_data("dkim_selectors.toml")["selector"])


def normalise_selector(text: str, domain: str) -> str | None:
    """A selector as typed (optionally the whole <selector>._domainkey.<domain> name), or None
    when it cannot be one (RFC 6376 §3.1: dot-separated sub-domain labels)."""
    name = text.strip().lower().rstrip(".")
    name = name.removesuffix(f"._domainkey.{domain}").removesuffix("._domainkey")
    labels = name.split(".")
    if not name or len(name) > 200 or not all(_SELECTOR_LABEL.match(x) for x in labels):
        return None
    return name


def selectors_to_probe(user: Iterable[str], domain: str) -> tuple[list[str], list[str], list[str]]:
    """(selectors in probe order: the user's first, then the defaults, without repeats;
    the user's valid selectors; the user's entries that cannot be selectors)."""
    mine: list[str] = []
    invalid: list[str] = []
    for text in user:
        name = normalise_selector(text, domain)
        if name is None:
            invalid.append(text)
        elif name not in mine:
            mine.append(name)
    ordered = list(dict.fromkeys([*mine, *(s.name for s in default_selectors())]))
    return ordered, mine, invalid


class KeyFormatError(ValueError):
    """The p= value is not a public key of the declared type."""


@dataclass(frozen=True)
class DkimKey:
    """One key record read per RFC 6376 §3.6.1."""

    raw: str
    tags: tuple[tuple[str, str], ...] = ()
    key_type: str = "rsa"
    bits: int | None = None
    revoked: bool = False
    testing: bool = False
    problems: tuple[str, ...] = ()

    @property
    def weak(self) -> bool:
        return self.key_type == "rsa" and self.bits is not None and self.bits < MIN_RSA_BITS

    def describe(self) -> str:
        if self.key_type == "ed25519":
            return "Ed25519 key"
        return f"RSA {self.bits}-bit key" if self.bits else "RSA key"


def looks_like_key(text: str) -> bool:
    """True for a TXT meant as a DKIM key: v=DKIM1 first, or a p= or k= tag and no other version.

    RFC 6376 §3.6.1: records starting with a v= of another value are discarded (so an SPF
    record answering a wildcard is not a key).
    """
    stripped = text.lstrip(_WSP)
    if re.match(r"v[ \t\r\n]*=", stripped):
        return re.match(r"v[ \t\r\n]*=[ \t\r\n]*DKIM1[ \t\r\n]*(?:;|\Z)", stripped) is not None
    return _KEY_TAG.search(text) is not None


def parse_key_record(text: str) -> DkimKey:
    """Validate a DKIM key record; problems that make the key unusable are in `problems`."""
    try:
        tags = parse_tag_list(text)
    except TagListError as exc:
        return DkimKey(raw=text, problems=(f"syntax error: {exc}",))
    values = dict(tags)
    problems = _tag_problems(tags, values)
    key_type = values.get("k", "rsa").lower()
    flags = [f.strip(_WSP).lower() for f in values.get("t", "").split(":")]
    base = DkimKey(raw=text, tags=tuple(tags), key_type=key_type, testing="y" in flags)
    if "p" not in values:
        return _with(base, [*problems, "no p= tag: the public key is required"])
    encoded = re.sub(r"[ \t\r\n]", "", values["p"])
    if not encoded:
        return _with(base, problems, revoked=True)
    if key_type not in ("rsa", "ed25519"):
        return _with(base, problems)
    try:
        bits = public_key_bits(key_type, _base64(encoded))
    except KeyFormatError as exc:
        return _with(base, [*problems, str(exc)])
    return _with(base, problems, bits=bits)


def _with(
    base: DkimKey, problems: list[str], *, revoked: bool = False, bits: int | None = None
) -> DkimKey:
    return DkimKey(
        raw=base.raw,
        tags=base.tags,
        key_type=base.key_type,
        bits=bits,
        revoked=revoked,
        testing=base.testing,
        problems=tuple(problems),
    )


def _tag_problems(tags: list[tuple[str, str]], values: dict[str, str]) -> list[str]:
    problems: list[str] = []
    if "v" in values and tags[0][0] != "v":
        problems.append("v=DKIM1 must be the first tag (RFC 6376 §3.6.1)")
    key_type = values.get("k", "rsa").lower()
    if key_type not in ("rsa", "ed25519"):
        problems.append(
            f"k={values['k']} is not a key type verifiers know (rsa, or ed25519 per RFC 8463)"
        )
    if "h" in values:
        hashes = [h.strip(_WSP).lower() for h in values["h"].split(":")]
        if "sha256" not in hashes:
            problems.append(
                f"h={values['h']} excludes sha256, and RFC 8301 forbids rsa-sha1: no signature "
                "made with this key verifies"
            )
    if "s" in values:
        services = [s.strip(_WSP).lower() for s in values["s"].split(":")]
        if "*" not in services and "email" not in services:
            problems.append(f"s={values['s']}: the key is not for email (needs * or email)")
    return problems


def _base64(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError("p= is not valid base64") from None


def public_key_bits(key_type: str, data: bytes) -> int:
    """Size of the public key in bits. Raises KeyFormatError unless `data` is a key of that type."""
    if key_type == "ed25519":
        if len(data) == ED25519_KEY_BYTES:
            return ED25519_KEY_BYTES * 8
        if _is_spki_of(data, ED25519_OID):
            raise KeyFormatError(
                "p= is a SubjectPublicKeyInfo; RFC 8463 §4.2 wants the bare 32-byte Ed25519 key"
            )
        raise KeyFormatError(f"p= holds {len(data)} bytes; an Ed25519 key is {ED25519_KEY_BYTES}")
    return rsa_modulus_bits(data)


def _is_spki_of(der: bytes, oid: bytes) -> bool:
    try:
        return _spki_algorithm(der)[0] == oid
    except KeyFormatError:
        return False


def rsa_modulus_bits(der: bytes) -> int:
    """Bits of the RSA modulus in a DER SubjectPublicKeyInfo (what signers publish) or a bare
    PKCS#1 RSAPublicKey. Raises KeyFormatError on anything else."""
    try:
        tag, start, end = _tlv(der, 0)
        first = _tlv(der, start)[0] if start < end else None
    except KeyFormatError:
        raise KeyFormatError("p= is not a DER-encoded public key") from None
    if tag != _DER_SEQUENCE or end != len(der):
        raise KeyFormatError("p= is not a DER-encoded public key")
    if first == _DER_INTEGER:
        return _rsa_public_key_bits(der)
    oid, key = _spki_algorithm(der)
    if oid == ED25519_OID:
        raise KeyFormatError("p= is an Ed25519 key but k= says rsa: set k=ed25519 (RFC 8463)")
    if oid != RSA_OID:
        raise KeyFormatError("p= is a public key of another algorithm than RSA")
    return _rsa_public_key_bits(key)


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at pos."""
    if pos + 2 > len(data):
        raise KeyFormatError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise KeyFormatError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise KeyFormatError("truncated DER")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items: list[tuple[int, int, int]] = []
    while start < end:
        item = _tlv(data, start)
        if item[2] > end:
            raise KeyFormatError("DER element overruns its container")
        items.append(item)
        start = item[2]
    return items


def _spki_algorithm(der: bytes) -> tuple[bytes, bytes]:
    """(algorithm OID, key bytes) of a SubjectPublicKeyInfo."""
    try:
        _, start, end = _tlv(der, 0)
        algorithm, key = _children(der, start, end)
        if algorithm[0] != _DER_SEQUENCE or key[0] != _DER_BIT_STRING:
            raise KeyFormatError("not a SubjectPublicKeyInfo")
        oid = _children(der, algorithm[1], algorithm[2])[0]
        if oid[0] != _DER_OID or key[2] - key[1] < 1 or der[key[1]] != 0:
            raise KeyFormatError("not a SubjectPublicKeyInfo")
    except (KeyFormatError, ValueError):
        raise KeyFormatError("p= is not a DER SubjectPublicKeyInfo") from None
    return der[oid[1] : oid[2]], der[key[1] + 1 : key[2]]


def _rsa_public_key_bits(der: bytes) -> int:
    """RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1)."""
    try:
        tag, start, end = _tlv(der, 0)
        parts = _children(der, start, end)
    except KeyFormatError:
        raise KeyFormatError("p= does not hold an RSA public key") from None
    if tag != _DER_SEQUENCE or end != len(der) or [p[0] for p in parts] != [_DER_INTEGER] * 2:
        raise KeyFormatError("p= does not hold an RSA public key")
    modulus = int.from_bytes(der[parts[0][1] : parts[0][2]], "big")
    if modulus <= 0:
        raise KeyFormatError("p= holds an RSA key with an empty modulus")
    return modulus.bit_length()


@dataclass(frozen=True)
class Probe:
    selector: str
    mine: bool  # named by the user
    answer: Answer
    keys: tuple[DkimKey, ...]

    @property
    def found(self) -> bool:
        return bool(self.keys)


def key_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}"


async def probe(resolver: Resolver, selector: str, domain: str, mine: bool) -> Probe:
    answer = await resolver.query(key_name(selector, domain), "TXT")
    texts = answer.records if answer.ok else []
    keys = tuple(parse_key_record(t) for t in texts if looks_like_key(t))
    return Probe(selector, mine, answer, keys)


async def run(ctx: Context) -> CheckResult:
    domain = ctx.domain.ascii
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
