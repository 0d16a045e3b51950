"""The async DNS engine: every question a check asks goes through one Resolver.

Each answer carries a typed outcome, so a check can tell "the name does not exist" (a fact)
from "the server did not answer" (no fact at all). Identical questions asked by several
checks during one run share a single query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver

DEFAULT_TIMEOUT = 5.0
DNS_PORT = 53


class Outcome(StrEnum):
    ANSWER = "answer"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    ERROR = "error"


UNVERIFIED = frozenset({Outcome.TIMEOUT, Outcome.SERVFAIL, Outcome.REFUSED, Outcome.ERROR})

_OUTCOME_WORDS = {
    Outcome.NXDOMAIN: "NXDOMAIN (name does not exist)",
    Outcome.NODATA: "no records of this type",
    Outcome.TIMEOUT: "no answer (timed out)",
    Outcome.SERVFAIL: "SERVFAIL",
    Outcome.REFUSED: "REFUSED",
    Outcome.ERROR: "error",
}


@dataclass(frozen=True)
class Answer:
    """What one question got: an outcome, the records and the CNAME chain that led to them."""

    name: str
    rdtype: str
    outcome: Outcome
    rdata: tuple[dns.rdata.Rdata, ...] = ()
    cnames: tuple[str, ...] = ()
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.ANSWER

    @property
    def unverified(self) -> bool:
        """True when the lookup could not be completed, so nothing may be concluded from it."""
        return self.outcome in UNVERIFIED

    @property
    def absent(self) -> bool:
        """True when the server said, definitively, that there is no such record."""
        return self.outcome in (Outcome.NXDOMAIN, Outcome.NODATA)

    @property
    def records(self) -> list[str]:
        return [record_text(rd) for rd in self.rdata]

    def evidence(self) -> str:
        """One line a person can read: the question and what came back."""
        chain = "".join(f" -> CNAME {target}" for target in self.cnames)
        if self.ok:
            return f"{self.name} {self.rdtype}{chain} -> {', '.join(self.records)}"
        words = _OUTCOME_WORDS[self.outcome]
        if self.detail:
            words = f"{words}: {self.detail}"
        return f"{self.name} {self.rdtype}{chain}: {words}"


def record_text(rd: dns.rdata.Rdata) -> str:
    """Presentation text of a record; TXT strings are joined, as SPF and DMARC read them."""
    if rd.rdtype == dns.rdatatype.TXT:
        return b"".join(rd.strings).decode("utf-8", errors="replace")
    return rd.to_text()


def display_name(name: dns.name.Name | str) -> str:
    text = name.to_text() if isinstance(name, dns.name.Name) else name
    return text[:-1] if text.endswith(".") and text != "." else text


class NoNameserverError(Exception):
    """The system has no resolver configuration and none was given."""


def system_nameservers() -> list[tuple[str, int]]:
    try:
        configured = dns.resolver.Resolver(configure=True)
    except dns.resolver.NoResolverConfiguration as exc:
        raise NoNameserverError(
            "no nameserver configured on this system; pass --nameserver HOST[:PORT]"
        ) from exc
    servers = [(str(ns), DNS_PORT) for ns in configured.nameservers]
    if not servers:
        raise NoNameserverError(
            "no nameserver configured on this system; pass --nameserver HOST[:PORT]"
        )
    return servers


@dataclass
class _ServerTrouble:
    outcome: Outcome
    detail: str


@dataclass
class _Attempt:
    server: tuple[str, int]
    response: dns.message.Message | None
    trouble: _ServerTrouble | None


async def _first_answer(
    running: set[asyncio.Task[_Attempt]],
    until: float,
    trouble: dict[tuple[str, int], _ServerTrouble],
) -> dns.message.Message | None:
    """Wait until `until` for a usable answer; record what the failed attempts said."""
    loop = asyncio.get_running_loop()
    while running and (wait := until - loop.time()) > 0:
        done, _ = await asyncio.wait(running, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            running.discard(task)
            attempt = task.result()
            if attempt.response is not None:
                return attempt.response
            assert attempt.trouble is not None
            trouble[attempt.server] = attempt.trouble
    return None


@dataclass
class Resolver:
    """A stub resolver over dnspython with per-run memoisation.

    `timeout` bounds each question, retries and fallbacks to the next server included.
    """

    nameservers: Sequence[tuple[str, int]] = ()
    timeout: float = DEFAULT_TIMEOUT
    memoise: bool = True  # False when a cache in front of it does the sharing (a Session)
    _memo: dict[tuple[str, str], asyncio.Task[Answer]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.nameservers:
            self.nameservers = system_nameservers()

    async def query(self, name: str, rdtype: str) -> Answer:
        key = (display_name(name).lower(), rdtype.upper())
        if not self.memoise:
            return await self._ask(*key)
        task = self._memo.get(key)
        if task is None:
            task = asyncio.ensure_future(self._ask(key[0], key[1]))
            self._memo[key] = task
        # shield: one waiter giving up must not cancel the answer other checks wait for.
        return await asyncio.shield(task)

    async def _ask(self, name: str, rdtype: str) -> Answer:
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException as exc:
            return Answer(name, rdtype, Outcome.ERROR, detail=f"not a valid DNS name ({exc})")
        request = dns.message.make_query(qname, rdtype, use_edns=0, payload=1232)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        # Each server is asked twice, the attempts staggered over the first half of the timeout,
        # and every attempt may wait until the deadline: a lost packet is resent, while a slow
        # answer still counts. The first NOERROR or NXDOMAIN answer wins.
        plan = list(self.nameservers) * 2
        stagger = self.timeout / len(plan)
        trouble: dict[tuple[str, int], _ServerTrouble] = {}
        running: set[asyncio.Task[_Attempt]] = set()
        try:
            for index, server in enumerate(plan):
                if server not in trouble or trouble[server].outcome is Outcome.TIMEOUT:
                    attempt = self._attempt(request, server, deadline - loop.time())
                    running.add(asyncio.ensure_future(attempt))
                last = index == len(plan) - 1
                until = deadline if last else min(deadline, loop.time() + stagger)
                response = await _first_answer(running, until, trouble)
                if response is not None:
                    return _read_response(name, rdtype, response)
        finally:
            for task in running:
                task.cancel()
        return self._give_up(name, rdtype, trouble)

    @staticmethod
    async def _attempt(
        request: dns.message.Message, server: tuple[str, int], timeout: float
    ) -> _Attempt:
        try:
            response, _ = await dns.asyncquery.udp_with_fallback(
                request, server[0], timeout=max(timeout, 0.001), port=server[1]
            )
        except dns.exception.Timeout:
            return _Attempt(
                server, None, _ServerTrouble(Outcome.TIMEOUT, f"{_where(server)} timed out")
            )
        except Exception as exc:  # any transport failure means "no answer"
            # OSError, DNSException, and e.g. EOFError when a server closes TCP early.
            detail = f"{_where(server)}: {type(exc).__name__} {exc}".strip()
            return _Attempt(server, None, _ServerTrouble(Outcome.ERROR, detail))
        if response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return _Attempt(server, response, None)
        return _Attempt(server, None, _trouble_for_rcode(server, response.rcode()))

    async def aclose(self) -> None:
        """Cancel the questions still in flight (after a deadline), so none outlives the run."""
        pending = [task for task in self._memo.values() if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _give_up(
        self, name: str, rdtype: str, trouble: dict[tuple[str, int], _ServerTrouble]
    ) -> Answer:
        if not trouble:
            return Answer(
                name, rdtype, Outcome.TIMEOUT, detail=f"no answer within {self.timeout:g}s"
            )
        # Report the most telling failure: a refusal says more than silence.
        order = [Outcome.REFUSED, Outcome.SERVFAIL, Outcome.ERROR, Outcome.TIMEOUT]
        worst = min(trouble.values(), key=lambda t: order.index(t.outcome))
        details = "; ".join(t.detail for t in trouble.values())
        if worst.outcome is Outcome.TIMEOUT:
            details = f"no answer within {self.timeout:g}s ({details})"
        return Answer(name, rdtype, worst.outcome, detail=details)


def _where(server: tuple[str, int]) -> str:
    host, port = server
    shown = f"[{host}]" if ":" in host else host
    return shown if port == DNS_PORT else f"{shown}:{port}"


def _trouble_for_rcode(server: tuple[str, int], rcode: int) -> _ServerTrouble:
    if rcode == dns.rcode.SERVFAIL:
        return _ServerTrouble(Outcome.SERVFAIL, f"{_where(server)} answered SERVFAIL")
    if rcode == dns.rcode.REFUSED:
        return _ServerTrouble(Outcome.REFUSED, f"{_where(server)} answered REFUSED")
    return _ServerTrouble(Outcome.ERROR, f"{_where(server)} answered {dns.rcode.to_text(rcode)}")


def _read_response(name: str, rdtype: str, response: dns.message.Message) -> Answer:
    try:
        chain = response.resolve_chaining()
    except dns.exception.DNSException as exc:
        return Answer(name, rdtype, Outcome.ERROR, detail=f"unusable answer ({exc})")
    cnames = tuple(display_name(rrset[0].target) for rrset in chain.cnames)
    if response.rcode() == dns.rcode.NXDOMAIN:
        return Answer(name, rdtype, Outcome.NXDOMAIN, cnames=cnames)
    if chain.answer is None and _is_referral(response):
        detail = "the server sent a referral, not an answer: it does not resolve recursively"
        return Answer(name, rdtype, Outcome.ERROR, cnames=cnames, detail=detail)
    if chain.answer is None:
        return Answer(name, rdtype, Outcome.NODATA, cnames=cnames)
    return Answer(name, rdtype, Outcome.ANSWER, rdata=tuple(chain.answer), cnames=cnames)


def _is_referral(response: dns.message.Message) -> bool:
    """An empty, non-authoritative answer pointing at other nameservers: not a "no such record"."""
    if response.flags & dns.flags.AA:
        return False
    kinds = {rrset.rdtype for rrset in response.authority}
    return dns.rdatatype.NS in kinds and dns.rdatatype.SOA not in kinds
