"""The questions checks ask of the DNS, answered through the run's shared Resolver."""

from __future__ import annotations

import asyncio

from reputation.bounds import MAX_RECORDS, first
from reputation.context import Context
from reputation.dns.cache import Querier
from reputation.dns.resolver import Answer, display_name
from reputation.inputs import IPAddress, parse_ip


def address_type(ip: IPAddress) -> str:
    return "A" if ip.version == 4 else "AAAA"


async def ptr(resolver: Querier, ip: IPAddress) -> Answer:
    return await resolver.query(ip.reverse_pointer, "PTR")


def ptr_names(answer: Answer) -> list[str]:
    return [display_name(rd.target).lower() for rd in answer.rdata] if answer.ok else []


def read_ptr_names(answer: Answer) -> tuple[list[str], int]:
    """The PTR names a check reads (at most bounds.MAX_RECORDS) and how many it left unread."""
    names, unread = first(ptr_names(answer), MAX_RECORDS)
    return names, unread + answer.unread


def record_evidence(answer: Answer, record: str) -> str:
    """The evidence line of one record of an answer: the question and that record alone."""
    chain = "".join(f" -> CNAME {target}" for target in answer.cnames)
    return f"{answer.name} {answer.rdtype}{chain} -> {record}"


async def addresses(resolver: Querier, name: str) -> tuple[Answer, Answer]:
    """A and AAAA of a name, asked together."""
    a, aaaa = await asyncio.gather(resolver.query(name, "A"), resolver.query(name, "AAAA"))
    return a, aaaa


def ips_of(*answers: Answer) -> list[IPAddress]:
    return [parse_ip(rd.address) for answer in answers if answer.ok for rd in answer.rdata]


async def confirmed_ptr_names(
    resolver: Querier, ip: IPAddress
) -> tuple[Answer, list[Answer], list[str]]:
    """The PTR answer, the forward answer of each PTR name, and the names that resolve back to ip."""
    answer = await ptr(resolver, ip)
    names, _ = read_ptr_names(answer)
    forward = list(await asyncio.gather(*(resolver.query(n, address_type(ip)) for n in names)))
    confirmed = [n for n, fwd in zip(names, forward, strict=True) if ip in ips_of(fwd)]
    return answer, forward, confirmed


async def assumed_helo(ctx: Context) -> str | None:
    """The HELO to assume when none was given: the first forward-confirmed PTR name, else the
    first PTR name. One answer per run, so every check and the report agree on it."""

    async def choose() -> str | None:
        answer, _, confirmed = await confirmed_ptr_names(ctx.resolver, ctx.ip)
        return (confirmed or ptr_names(answer) or [None])[0]

    return await ctx.once("assumed_helo", choose)
