"""The async DNS engine: every question a check asks goes through one Resolver.

Each answer carries a typed outcome, so a check can tell "the name does not exist" (a fact)
from "the server did not answer" (no fact at all). Identical questions asked by several
checks during one run share a single query. The queries themselves travel over the event
loop's shared sockets (reputation.dns.transport) and are read by reputation.dns.wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.rdatatype
import dns.resolver

from reputation.dns import wire
from reputation.dns.answer import UNVERIFIED, Answer, Outcome, display_name, record_text
from reputation.dns.transport import Exchange, Server, Transport, Trouble

__all__ = [
    "DEFAULT_TIMEOUT",
    "DNS_PORT",
    "UNVERIFIED",
    "Answer",
    "NoNameserverError",
    "Outcome",
    "Resolver",
    "display_name",
    "record_text",
    "system_nameservers",
]

DEFAULT_TIMEOUT = 5.0
DNS_PORT = 53


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
class Resolver:
    """A stub resolver with per-run memoisation.

    `timeout` bounds each question, retries and fallbacks to the next server included; it
    starts when the question's first packet is sent.
    """

    nameservers: Sequence[tuple[str, int]] = ()
    timeout: float = DEFAULT_TIMEOUT
    memoise: bool = True  # False when a cache in front of it does the sharing (a Session)
    _memo: dict[tuple[str, str], asyncio.Future[Answer]] = field(default_factory=dict, repr=False)
    _exchanges: dict[tuple[str, str], Exchange] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.nameservers:
            self.nameservers = system_nameservers()

    async def query(self, name: str, rdtype: str) -> Answer:
        key = (display_name(name).lower(), rdtype.upper())
        if not self.memoise:
            return await self._ask(key)
        future = self._memo.get(key)
        if future is None:
            future = self._memo[key] = self._ask(key)
        if future.done():
            return future.result()
        # shield: one waiter giving up must not cancel the answer other checks wait for.
        return await asyncio.shield(future)

    def _ask(self, key: tuple[str, str]) -> asyncio.Future[Answer]:
        name, rdtype = key
        transport = Transport.running()
        try:
            qtype = _TYPES.get(rdtype) or dns.rdatatype.from_text(rdtype)
            question = wire.question(wire.encode_name(name), qtype)
        except ValueError as exc:
            done = transport.loop.create_future()
            done.set_result(
                Answer(name, rdtype, Outcome.ERROR, detail=f"not a valid DNS name ({exc})")
            )
            return done

        def finish(reply: bytes | None, trouble: dict[Server, Trouble]) -> Answer:
            self._exchanges.pop(key, None)
            if reply is None:
                return self._give_up(name, rdtype, trouble)
            return wire.read_answer(name, rdtype, qtype, reply)

        exchange = Exchange(transport, self.nameservers, question, self.timeout, finish)
        self._exchanges[key] = exchange
        transport.submit(exchange)
        return exchange.future  # type: ignore[return-value]

    async def aclose(self) -> None:
        """Cancel the questions still in flight (after a deadline), so none outlives the run."""
        for exchange in list(self._exchanges.values()):
            exchange.cancel()
        self._exchanges.clear()

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
