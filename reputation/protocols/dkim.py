"""DKIM key records (RFC 6376 §3.6.1): reading and validating a published public key.

Pure of DNS and of the report: the dkim check asks the DNS and judges what this module reads.
Ed25519 keys RFC 8463; key sizes RFC 8301 §3.2.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from dataclasses import dataclass

from reputation.protocols.dmarc import TagListError, parse_tag_list

MIN_RSA_BITS = 1024  # RFC 8301 §3.2: verifiers MUST NOT accept smaller keys; Gmail requires it
RECOMMENDED_RSA_BITS = 2048  # RFC 8301 §3.2: signers SHOULD use at least this
ED25519_KEY_BYTES = 32  # RFC 8463 §4.2: p= is the bare 32-byte public key

RSA_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption
ED25519_OID = bytes.fromhex("2b6570")  # 1.3.101.112
_DER_SEQUENCE, _DER_INTEGER, _DER_BIT_STRING, _DER_OID = 0x30, 0x02, 0x03, 0x06

_KEY_TAG = re.compile(r"(?:^|;)[ \t\r\n]*[pk][ \t\r\n]*=")
_WSP = " \t\r\n"


def key_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}"


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
        return _finished(base, [*problems, "no p= tag: the public key is required"])
    encoded = re.sub(r"[ \t\r\n]", "", values["p"])
    if not encoded:
        return _finished(base, problems, revoked=True)
    if key_type not in ("rsa", "ed25519"):
        return _finished(base, problems)
    try:
        bits = public_key_bits(key_type, _base64(encoded))
    except KeyFormatError as exc:
        return _finished(base, [*problems, str(exc)])
    return _finished(base, problems, bits=bits)


def _finished(
    base: DkimKey, problems: list[str], *, revoked: bool = False, bits: int | None = None
) -> DkimKey:
    return dataclasses.replace(base, bits=bits, revoked=revoked, problems=tuple(problems))


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
