"""A Session: one resolver and one cache shared by every check it runs.

This first version fixes the interface that the audit, bounce and message commands build on;
today each check still runs through the one-shot engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from reputation import engine
from reputation.context import DEFAULT_RDAP_URL
from reputation.dns.resolver import DEFAULT_TIMEOUT
from reputation.report import Report


class Session:
    """Usage: `async with Session(nameservers=[...]) as s: report = await s.check(d, ip)`."""

    def __init__(
        self,
        *,
        nameservers: Sequence[str | tuple[str, int]] = (),
        timeout: float = DEFAULT_TIMEOUT,
        rdap: bool = True,
        rdap_url: str = DEFAULT_RDAP_URL,
        blocklists_file: Path | None = None,
        lists: Sequence[str] = (),
        providers: Sequence[str] = (),
        bulk: bool = False,
    ) -> None:
        self._options = {
            "nameservers": list(nameservers),
            "timeout": timeout,
            "rdap": rdap,
            "rdap_url": rdap_url,
            "blocklists_file": blocklists_file,
            "lists": list(lists),
            "providers": list(providers),
            "bulk": bulk,
        }
        engine.make_options(**self._options)  # bad input fails here, before any check

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the sockets; the session cannot check after this."""

    async def check(
        self,
        domain: str,
        ip: str,
        helo: str | None = None,
        *,
        checks: Sequence[str] | None = None,
        dkim_selectors: Sequence[str] = (),
    ) -> Report:
        """Check one sender. `checks`: check ids (and "blocklists") to run; None = all."""
        del checks  # not honoured yet: every check runs
        return await engine.check_async(
            domain, ip, helo, dkim_selectors=list(dkim_selectors), **self._options
        )
