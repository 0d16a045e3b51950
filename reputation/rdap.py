"""Registration data over RDAP (RFC 9083): when a domain was registered and its status."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

HOLD_STATUSES = frozenset({"client hold", "server hold"})


@dataclass
class RdapRecord:
    url: str
    registered: datetime | None = None
    statuses: list[str] = field(default_factory=list)


@dataclass
class RdapUnavailable:
    url: str
    reason: str


async def lookup(
    domain_ascii: str,
    base_url: str,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RdapRecord | RdapUnavailable:
    url = f"{base_url.rstrip('/')}/domain/{domain_ascii}"
    try:
        async with asyncio.timeout(timeout):
            return await _fetch(url, timeout, transport)
    except TimeoutError:
        return RdapUnavailable(url, f"no answer within {timeout:g}s")


async def _fetch(
    url: str, timeout: float, transport: httpx.AsyncBaseTransport | None
) -> RdapRecord | RdapUnavailable:
    import httpx  # only here: a run without RDAP never pays for loading it

    headers = {"Accept": "application/rdap+json, application/json"}
    try:
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=True, transport=transport, headers=headers
        ) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        return RdapUnavailable(
            url, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        )
    if response.status_code == 404:
        return RdapUnavailable(url, "the RDAP service has no record of this domain (HTTP 404)")
    if response.status_code != 200:
        return RdapUnavailable(url, f"HTTP {response.status_code}")
    try:
        return parse(str(response.url), response.json())
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        return RdapUnavailable(url, f"unreadable RDAP answer ({exc})")


def parse(url: str, data: dict) -> RdapRecord:
    record = RdapRecord(url=url, statuses=[str(s).lower() for s in data.get("status", [])])
    for event in data.get("events", []):
        if event.get("eventAction") == "registration" and event.get("eventDate"):
            registered = datetime.fromisoformat(event["eventDate"].replace("Z", "+00:00"))
            # RFC 3339 dates carry a zone; a registry that omits it is read as UTC.
            record.registered = registered if registered.tzinfo else registered.replace(tzinfo=UTC)
    return record
