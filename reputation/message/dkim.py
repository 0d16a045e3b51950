"""Verifying every DKIM-Signature of a message with dkimpy, over the project's resolver.

dkimpy asks for keys through a synchronous hook (`dnsfunc`). Verification runs in a worker
thread and the hook hands each question back to the event loop's Resolver, so the lab server,
--nameserver and --timeout apply, and a lookup that failed is told apart from a missing key.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import dkim
from dkim.util import InvalidTagValueList, parse_tag_value

from reputation.dns.cache import Querier
from reputation.dns.resolver import Answer
from reputation.message.reading import Message
from reputation.records import FlatRecord

MIN_RSA_BITS = 1024  # RFC 8301 §3.2


@dataclass
class Signature(FlatRecord):
    domain: str
    selector: str
    algorithm: str
    result: str  # pass / fail / neutral / temperror / permerror (RFC 8601 §2.7.1)
    reason: str
    length_limited: bool = False
    signed_headers: list[str] = field(default_factory=list)
    header_only: bool = False
    key_answer: str = ""  # evidence: the key lookup and what came back

    OMIT: ClassVar[frozenset[str]] = frozenset(
        {"length_limited", "signed_headers", "header_only", "key_answer"}
    )


@dataclass
class _Lookups:
    """What the hook asked and got, so a reason can name the key lookup."""

    answers: dict[str, Answer] = field(default_factory=dict)


class _Log(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())


def dns_hook(
    resolver: Querier,
    loop: asyncio.AbstractEventLoop,
    timeout: float,
    seen: _Lookups | None = None,
) -> Any:
    """dkimpy's dnsfunc: the TXT key record at `name`, asked on the loop's Resolver."""

    def lookup(name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        future = asyncio.run_coroutine_threadsafe(resolver.query(text, "TXT"), loop)
        try:
            answer = future.result(timeout=timeout * 3)
        except Exception as exc:  # the loop is closing, or the answer never came
            raise dkim.DnsTimeoutError(f"{text} TXT: no answer ({type(exc).__name__})") from None
        if seen is not None:
            seen.answers[answer.name] = answer
        if answer.unverified:
            raise dkim.DnsTimeoutError(answer.evidence())
        records = answer.records if answer.ok else []
        keys = [r for r in records if "p=" in r] or records
        return keys[0].encode("utf-8") if keys else None

    return lookup


async def verify_all(message: Message, resolver: Querier, timeout: float) -> list[Signature]:
    """Every DKIM-Signature, top first, each verified for real."""
    count = len(message.raw_values("DKIM-Signature"))
    if not count:
        return []
    loop = asyncio.get_running_loop()
    return await asyncio.to_thread(_verify_in_thread, message, resolver, loop, timeout, count)


def _verify_in_thread(
    message: Message,
    resolver: Querier,
    loop: asyncio.AbstractEventLoop,
    timeout: float,
    count: int,
) -> list[Signature]:
    return [_verify_one(message, resolver, loop, timeout, index) for index in range(count)]


def _tags(message: Message, index: int) -> dict[bytes, bytes]:
    headers = [
        value for key, value in message.parsed.raw_items() if key.lower() == "dkim-signature"
    ]
    try:
        return parse_tag_value(str(headers[index]).encode("utf-8", "surrogateescape"))
    except (InvalidTagValueList, IndexError, UnicodeEncodeError):
        return {}


def _text(value: bytes | None) -> str:
    return re.sub(r"\s+", "", (value or b"").decode("ascii", "replace"))


def _verify_one(
    message: Message,
    resolver: Querier,
    loop: asyncio.AbstractEventLoop,
    timeout: float,
    index: int,
) -> Signature:
    tags = _tags(message, index)
    signature = Signature(
        domain=_text(tags.get(b"d")).lower(),
        selector=_text(tags.get(b"s")).lower(),
        algorithm=_text(tags.get(b"a")).lower(),
        result="permerror",
        reason="",
        length_limited=b"l" in tags,
        signed_headers=[h for h in _text(tags.get(b"h")).lower().split(":") if h],
    )
    seen = _Lookups()
    log = _Log()
    logger = logging.getLogger(f"reputation.message.dkim.{id(log)}")
    logger.propagate = False
    logger.addHandler(log)
    verifier = dkim.DKIM(message.raw, logger=logger, minkey=MIN_RSA_BITS, timeout=timeout)
    hook = dns_hook(resolver, loop, timeout, seen)
    try:
        ok = verifier.verify(idx=index, dnsfunc=hook)
    except dkim.DKIMException as exc:
        if _body_hash_mismatch(exc) and not message.body.strip():
            return _header_only(message, signature, index, hook, seen)
        _explain_exception(signature, exc)
    except Exception as exc:  # dkimpy on input it does not expect: one signature, not the run
        signature.reason = f"could not be verified: {type(exc).__name__}: {exc}"
    else:
        _explain_outcome(signature, ok, log.errors)
    finally:
        logger.removeHandler(log)
    _note_key(signature, seen)
    return signature


def _body_hash_mismatch(exc: Exception) -> bool:
    return "body hash mismatch" in str(exc)


def _explain_exception(signature: Signature, exc: Exception) -> None:
    text = str(exc)
    if _body_hash_mismatch(exc):
        signature.result = "fail"
        signature.reason = (
            "body hash mismatch: the body was changed after signing (bh= does not match)"
        )
    elif "x= value is past" in text:
        signature.result = "fail"
        signature.reason = f"signature expired ({text})"
    elif "public key too small" in text:
        bits = text.rsplit(":", 1)[-1].strip()
        signature.result = "fail"
        signature.reason = (
            f"key too short: {bits} bits, verifiers refuse keys under {MIN_RSA_BITS} "
            "(RFC 8301 §3.2)"
        )
    elif isinstance(exc, dkim.NaClNotFoundError):
        signature.result = "neutral"
        signature.reason = "Ed25519 signature not verified: PyNaCl is not installed"
    else:
        signature.result = "permerror"
        signature.reason = f"signature unusable: {text}"


def _explain_outcome(signature: Signature, ok: bool, errors: list[str]) -> None:
    if ok:
        signature.result = "pass"
        signature.reason = "signature verifies"
        if signature.length_limited:
            signature.reason += (
                "; but l= is used: only part of the body is signed, so text can be appended "
                "(RFC 6376 §8.2)"
            )
        return
    error = errors[-1] if errors else ""
    if error.startswith("DnsTimeoutError"):
        signature.result = "temperror"
        signature.reason = f"key lookup failed: {error.split('Error message: ', 1)[-1]}"
    elif "missing public key" in error:
        signature.result = "fail"
        name = f"{signature.selector}._domainkey.{signature.domain}"
        signature.reason = f"key not found: no DKIM key at {name}"
    elif error:
        signature.result = "permerror"
        signature.reason = f"key record unusable: {error}"
    else:
        signature.result = "fail"
        signature.reason = (
            "signature does not verify: the signed headers were changed or the key differs"
        )


def _header_only(
    message: Message, signature: Signature, index: int, hook: Any, seen: _Lookups
) -> Signature:
    """Without a body, only the header hash can be checked (bh= is set aside)."""
    verifier = dkim.DKIM(message.raw, minkey=MIN_RSA_BITS)
    signature.header_only = True
    try:
        prep = verifier.verify_headerprep(index)
        if not prep:
            raise dkim.ValidationError("no such signature")
        sig, include_headers, headers = prep
        del sig[b"bh"]
        ok = verifier.verify_sig(sig, include_headers, headers[index], hook)
    except dkim.DKIMException as exc:
        _explain_exception(signature, exc)
        return signature
    signature.result = "neutral"
    signature.reason = (
        "the message has no body (headers only), so the body hash cannot be verified; "
        + ("the signed headers verify" if ok else "the signed headers do not verify")
    )
    _note_key(signature, seen)
    return signature


def _note_key(signature: Signature, seen: _Lookups) -> None:
    name = f"{signature.selector}._domainkey.{signature.domain}"
    answer = seen.answers.get(name)
    if answer is not None:
        signature.key_answer = answer.evidence()
