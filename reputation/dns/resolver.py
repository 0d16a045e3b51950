"""The async DNS engine: every question a check asks goes through one Resolver.

Each answer carries a typed outcome, so a check can tell "the name does not exist" (a fact)
from "the server did not answer" (no fact at all). Identical questions asked by several
checks during one run share a single query. The queries themselves travel over the event
loop's shared sockets (reputation.dns.transport, reputation.dns.exchange) and are read by
reputation.dns.wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.rdatatype

from reputation.dns import wire
from reputation.dns.answer import UNVERIFIED, Answer, Outcome, display_name, record_text
from reputation.dns.exchange import Batch, BatchSlot, Exchange, Trouble, attempt_plan
from reputation.dns.transport import Server, Transport

__all__ = [
    "DEFAULT_TIMEOUT",
    "DNS_PORT",
    "UNVERIFIED",
    "Answer",
    "NoNameserverError",
    "Outcome",
    "Resolver",
    "display_name",
    "question_key",
    "record_text",
    "system_nameservers",
]

DEFAULT_TIMEOUT = 5.0
DNS_PORT = 53


class NoNameserverError(Exception):
    """The system has no resolver configuration and none was given."""


def question_key(name: str, rdtype: str) -> tuple[str, str]:
    """One spelling per question: no trailing dot, lower-case name, upper-case type."""
    return display_name(name).lower(), rdtype.upper()


def system_nameservers() -> list[tuple[str, int]]:
    import dns.resolver  # heavy, and only needed to read the system's configuration

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
class Resolver:
    """A stub resolver with per-run memoisation.

    `timeout` bounds each question, retries and fallbacks to the next server included; it
    starts when the question's first packet is sent.
    """

    nameservers: Sequence[tuple[str, int]] = ()
    timeout: float = DEFAULT_TIMEOUT
    # False when a cache in front of it keeps the answers (a Session): only questions in
    # flight are shared then.
    memoise: bool = True
    # Each question once per run: the Answer, or the Exchange still asking it.
    _memo: dict[tuple[str, str], Answer | Exchange] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.nameservers:
            self.nameservers = system_nameservers()
        self._plan = attempt_plan(self.nameservers)

    async def query(self, name: str, rdtype: str) -> Answer:
        known = self._known_or_asked(question_key(name, rdtype))
        if isinstance(known, Answer):
            return known
        waiter: asyncio.Future[Answer] = known.transport.loop.create_future()
        known.waiters.append(waiter)  # type: ignore[arg-type]
        return await waiter

    async def query_many(self, questions: Sequence[tuple[str, str]]) -> list[Answer]:
        """The answers to many questions, in order: one future for all of them, not one each."""
        answers: list[Answer | None] = [None] * len(questions)
        asking: list[tuple[int, Exchange]] = []
        transport = Transport.running()
        for index, (name, rdtype) in enumerate(questions):
            known = self._known_or_asked(question_key(name, rdtype), transport)
            if isinstance(known, Answer):
                answers[index] = known
            else:
                asking.append((index, known))
        if asking:
            batch = Batch(asking[0][1].transport.loop, answers, len(asking))
            for index, exchange in asking:
                exchange.waiters.append(BatchSlot(batch, index))  # type: ignore[arg-type]
            await batch.future
        return answers  # type: ignore[return-value]

    def _known_or_asked(
        self, key: tuple[str, str], transport: Transport | None = None
    ) -> Answer | Exchange:
        """The answer this run already has, the exchange already asking, or a new one."""
        known = self._memo.get(key)
        if known is None:
            known = self._memo[key] = self._ask(key, transport)
        return known

    def _ask(self, key: tuple[str, str], transport: Transport | None = None) -> Answer | Exchange:
        name, rdtype = key
        try:
            qtype = _TYPES.get(rdtype) or dns.rdatatype.from_text(rdtype)
            question = wire.question(wire.encode_name(name), qtype)
        except ValueError as exc:
            return Answer(name, rdtype, Outcome.ERROR, detail=f"not a valid DNS name ({exc})")
        transport = transport or Transport.running()
        exchange = Exchange(
            transport, self._plan, question, self.timeout, self._finish, (key, qtype)
        )
        transport.submit(exchange)
        return exchange

    def _finish(
        self, exchange: Exchange, reply: bytes | None, trouble: dict[Server, Trouble]
    ) -> Answer:
        (name, rdtype), qtype = exchange.context  # type: ignore[misc]
        if reply is None:
            answer = self._give_up(name, rdtype, trouble)
        else:
            answer = wire.read_answer(name, rdtype, qtype, reply)
        if self.memoise:
            self._memo[(name, rdtype)] = answer
        else:
            self._memo.pop((name, rdtype), None)
        return answer

    async def aclose(self) -> None:
        """Cancel the questions still in flight (after a deadline), so none outlives the run."""
        for key, known in list(self._memo.items()):
            if isinstance(known, Exchange):
                known.cancel()
                del self._memo[key]

    def _give_up(self, name: str, rdtype: str, trouble: dict[Server, Trouble]) -> Answer:
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


_TYPES = {text: dns.rdatatype.from_text(text) for text in ("A", "AAAA", "TXT", "MX", "PTR", "NS")}
