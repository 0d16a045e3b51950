"""reputation: will the big mailbox providers accept mail from this domain and IP, and if not, why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reputation.inputs import BadInput
    from reputation.report import Report
    from reputation.session import Session, check, check_async

__all__ = ["BadInput", "Report", "Session", "check", "check_async"]
__version__ = "0.1.0"

# The public names load on first use, so a command that needs none of them (the CLI's --help,
# `reputation message`) does not import the checks, the DNS engine and dnspython to start.
_HOMES = {
    "BadInput": "reputation.inputs",
    "Report": "reputation.report",
    "Session": "reputation.session",
    "check": "reputation.session",
    "check_async": "reputation.session",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'reputation' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
