"""The questions checks ask of the DNS, answered through the run's shared Resolver."""

from __future__ import annotations

import asyncio

from reputation.inputs import IPAddress, parse_ip
from reputation.resolver import Answer, Resolver, display_name


def address_type(ip: IPAddress) -> str:
    return "A" if ip.version == 4 else "AAAA"


async def ptr(resolver: Resolver, ip: IPAddress) -> Answer:
    return await resolver.query(ip.reverse_pointer, "PTR")


def ptr_names(answer: Answer) -> list[str]:
    return [display_name(rd.target).lower() for rd in answer.rdata] if answer.ok else []


async def addresses(resolver: Resolver, name: str) -> tuple[Answer, Answer]:
    """A and AAAA of a name, asked together."""
    a, aaaa = await asyncio.gather(resolver.query(name, "A"), resolver.query(name, "AAAA"))
    return a, aaaa


def ips_of(*answers: Answer) -> list[IPAddress]:
    return [parse_ip(rd.address) for answer in answers if answer.ok for rd in answer.rdata]
