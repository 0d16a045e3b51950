"""Provider rules (data/providers.toml): which findings or listings trigger each provider's
reply, the outcome, and the reply text the provider documents, with its source."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from reputation.checks import DESCRIPTIONS
from reputation.knowledge import load_data

# The finding codes a rule may name, and the check that declares each (checks/descriptor.py).
FINDING_CHECKS: dict[str, str] = {code: check.id for check in DESCRIPTIONS for code in check.codes}
SYNTHETIC = {"ipv6"}
OUTCOMES = ("reject", "defer", "junk")
SCOPES = ("all", "bulk")
CONFIDENCES = ("documented", "widely_reported")


class ProviderDataError(ValueError):
    """The provider data file is broken; the message names the file and the problem."""


@dataclass(frozen=True)
class Condition:
    kind: str  # "finding" or "listed"
    name: str  # finding code, or blocklist zone
    codes: tuple[tuple[int, int], ...] = ()  # listed: return-code ranges; empty = any blocking code

    @property
    def check(self) -> str:
        if self.kind == "listed":
            return f"blocklist:{self.name}"
        return "target" if self.name in SYNTHETIC else FINDING_CHECKS[self.name]


@dataclass(frozen=True)
class Rule:
    id: str
    when: tuple[Condition, ...]
    outcome: str
    scope: str
    reply: str
    postmaster_url: str
    source: str
    confidence: str
    note: str = ""


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    domains: tuple[str, ...]
    postmaster_url: str
    sources: tuple[str, ...]
    uses_blocklists: tuple[str, ...]
    rules: tuple[Rule, ...]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "domains": list(self.domains),
            "postmaster_url": self.postmaster_url,
            "sources": list(self.sources),
            "uses_blocklists": list(self.uses_blocklists),
            "note": self.note,
            "rules": [
                {
                    "id": r.id,
                    "when": [condition_text(c) for c in r.when],
                    "outcome": r.outcome,
                    "scope": r.scope,
                    "reply": r.reply,
                    "postmaster_url": r.postmaster_url,
                    "source": r.source,
                    "confidence": r.confidence,
                    "note": r.note,
                }
                for r in self.rules
            ],
        }


def load_providers(path: Path | None = None) -> list[Provider]:
    if path is None:
        return list(_packaged_providers())
    import tomllib  # a run with the packaged data reads it from the compiled cache

    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProviderDataError(f"{path}: {exc}") from None
    return _parse_all(data, str(path))


@cache
def _packaged_providers() -> tuple[Provider, ...]:
    return tuple(_parse_all(load_data("providers.toml"), "providers.toml"))


def _parse_all(data: dict[str, Any], origin: str) -> list[Provider]:
    try:
        providers = [_parse_provider(entry) for entry in data["provider"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderDataError(f"{origin}: {exc}") from None
    ids = [p.id for p in providers]
    if len(ids) != len(set(ids)):
        raise ProviderDataError(f"{origin}: duplicate provider ids")
    return providers


def _parse_provider(entry: dict[str, Any]) -> Provider:
    pid = entry["id"]
    rules = tuple(_parse_rule(pid, r) for r in entry.get("rule", []))
    return Provider(
        id=pid,
        name=entry["name"],
        domains=tuple(entry.get("domains", [])),
        postmaster_url=entry.get("postmaster_url", ""),
        sources=tuple(entry.get("sources", [])),
        uses_blocklists=tuple(entry.get("uses_blocklists", [])),
        rules=rules,
        note=entry.get("note", ""),
    )


def _parse_rule(provider_id: str, entry: dict[str, Any]) -> Rule:
    where = f"provider {provider_id!r} rule {entry.get('id')!r}"
    for key, allowed in (("outcome", OUTCOMES), ("scope", SCOPES), ("confidence", CONFIDENCES)):
        if entry.get(key) not in allowed:
            raise ValueError(
                f"{where}: {key} {entry.get(key)!r} is not one of {', '.join(allowed)}"
            )
    if not str(entry.get("source", "")).startswith(("https://", "http://")):
        raise ValueError(f"{where}: needs a source URL")
    if not entry.get("when"):
        raise ValueError(f"{where}: 'when' is empty")
    return Rule(
        id=entry["id"],
        when=tuple(parse_condition(text, where) for text in entry["when"]),
        outcome=entry["outcome"],
        scope=entry["scope"],
        reply=entry.get("reply", ""),
        postmaster_url=entry.get("postmaster_url", ""),
        source=entry["source"],
        confidence=entry["confidence"],
        note=entry.get("note", ""),
    )


def parse_condition(text: str, where: str = "") -> Condition:
    kind, _, rest = text.partition(":")
    if kind == "finding" and (rest in FINDING_CHECKS or rest in SYNTHETIC):
        return Condition("finding", rest)
    if kind == "listed" and rest:
        zone, _, codes = rest.partition("=")
        return Condition(
            "listed", zone.lower(), tuple(_code_range(c, where) for c in codes.split("|") if c)
        )
    raise ValueError(f"{where}: unknown condition {text!r}")


def _code_range(text: str, where: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        low = int(ipaddress.IPv4Address(first))
        high = int(ipaddress.IPv4Address(last)) if last else low
    except ValueError:
        raise ValueError(f"{where}: bad return code {text!r}") from None
    return low, high


def condition_text(condition: Condition) -> str:
    if condition.kind == "finding":
        return f"finding:{condition.name}"
    codes = "|".join(
        str(ipaddress.IPv4Address(lo))
        if lo == hi
        else f"{ipaddress.IPv4Address(lo)}-{ipaddress.IPv4Address(hi)}"
        for lo, hi in condition.codes
    )
    return f"listed:{condition.name}" + (f"={codes}" if codes else "")


def select(providers: Sequence[Provider], wanted: Sequence[str]) -> list[Provider]:
    """Providers by id, in the order asked; ValueError naming an unknown id."""
    by_id = {p.id: p for p in providers}
    unknown = [w for w in wanted if w not in by_id]
    if unknown:
        raise ValueError(f"unknown provider {', '.join(unknown)}; known: {', '.join(by_id)}")
    return [by_id[w] for w in wanted]
