"""What every check is handed: the target, the shared resolver and the run's options."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from publicsuffixlist import PublicSuffixList

from reputation import compiled
from reputation.dns.cache import Querier

if TYPE_CHECKING:
    import httpx  # loaded by the RDAP lookup only
from reputation.inputs import DEFAULT_RDAP_URL, Domain, IPAddress

T = TypeVar("T")


@dataclass
class Options:
    nameservers: list[tuple[str, int]] = field(default_factory=list)
    timeout: float = 5.0
    rdap: bool = True
    rdap_url: str = DEFAULT_RDAP_URL
    rdap_transport: httpx.AsyncBaseTransport | None = None
    dkim_selectors: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)  # provider ids; empty = all
    bulk: bool = False  # also apply the rules for bulk / high-volume senders
    blocklists_file: Path | None = None  # None = the catalog installed with the package
    lists: list[str] = field(default_factory=list)  # list ids or zones; empty = the defaults
    env: Mapping[str, str] | None = None  # where list keys are read from; None = os.environ


@dataclass
class Context:
    domain: Domain
    ip: IPAddress
    helo: str | None
    resolver: Querier
    options: Options
    # The From (RFC 5322) domain, when the mail's envelope (MAIL FROM) domain is another one.
    from_domain: Domain | None = None
    _once: dict[str, asyncio.Task[Any]] = field(default_factory=dict, repr=False)

    async def once(self, key: str, make: Callable[[], Awaitable[T]]) -> T:
        """Compute a per-run fact once, however many checks ask for it, concurrently or not."""
        task = self._once.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            self._once[key] = task
        return await asyncio.shield(task)

    def settled(self, key: str) -> Any:
        """The fact computed under `key` if some check already asked for it, else None."""
        task = self._once.get(key)
        if task is None or not task.done() or task.cancelled() or task.exception():
            return None
        return task.result()

    @property
    def registrable_domain(self) -> str | None:
        return psl().privatesuffix(self.domain.ascii)

    @property
    def author(self) -> Domain:
        """The From domain that DMARC and DKIM judge: --from, else the sender domain itself."""
        return self.from_domain or self.domain


def organisational_domain(name: str) -> str:
    """The registrable ("organisational") domain of a name, by the Public Suffix List; the name
    itself when it is a public suffix or unknown."""
    return psl().privatesuffix(name) or name


@cache
def psl() -> PublicSuffixList:
    """The Public Suffix List bundled with publicsuffixlist: read once, never fetched."""
    import publicsuffixlist

    package = Path(publicsuffixlist.__file__).parent
    sources = [package / "__init__.py", package / "public_suffix_list.dat"]
    return compiled.cached("psl", sources, PublicSuffixList)
