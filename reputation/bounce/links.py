"""What only this project adds to a bounce: the blocklist it names, the provider rule it matches,
whose fault it is, the check that would show it and the remedy."""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import urlparse

from reputation.blocklists import Blocklist, load_catalog
from reputation.bounce import reasons
from reputation.bounce.model import Failure, Sender
from reputation.providers import Provider, Rule, load_providers

_LIST_NAMED = re.compile(
    r"(?:found in|listed (?:in|on|at|by)|blocked by|rejected by|see|visit)\s+"
    r"(?:https?://)?([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})",
)
_LIST_WORDS = ("dnsbl", "rbl", "spamblock", "blocklist", "blacklist", "spamcop", "antispam")
_WORD = re.compile(r"[a-z]{4,}")
_PLACEHOLDER = {"domain", "name", "address", "sendingdomain", "senderdomain"}
RULE_MATCH = 0.7


def annotate(failure: Failure, sender: Sender) -> None:
    reason = reasons.by_name(failure.reason)
    if reason is not None:
        failure.side = reason.side
        failure.check = reason.check or None
        failure.remedy = reason.remedy
    text = reasons.normalise(failure.diagnostic)
    failure.blocklist = named_blocklist(text, sender.ip, failure.diagnostic)
    if failure.blocklist and failure.side in ("sender", ""):
        failure.side, failure.check = "sender", "blocklists"
        failure.remedy = failure.blocklist["remedy"]
    provider, rule = matching_rule(text, failure.address)
    failure.provider = provider.id if provider else None
    if rule is not None:
        failure.rule = rule.id
        failure.side = "sender"
        failure.checks_needed = rule_checks(rule)
        failure.check = failure.checks_needed[0] if failure.checks_needed else failure.check
    elif failure.check:
        failure.checks_needed = [failure.check]
    extra = next((c for c in reasons.checks_for() if c.pattern.search(text)), None)
    if extra is not None and not failure.blocklist:
        failure.side, failure.check = "sender", extra.checks[0]
        failure.checks_needed = list(dict.fromkeys([*extra.checks, *failure.checks_needed]))
        failure.remedy = extra.remedy


def rule_checks(rule: Rule) -> list[str]:
    """The checks whose findings a provider rule's conditions read ("ipv6" needs none)."""
    names = []
    for condition in rule.when:
        name = "blocklists" if condition.kind == "listed" else condition.check
        if name != "target" and name not in names:
            names.append(name)
    return names


# ---------------------------------------------------------------------------------------------
# Blocklists
# ---------------------------------------------------------------------------------------------


def named_blocklist(text: str, ip: str, original: str = "") -> dict[str, Any] | None:
    """The blocklist the diagnostic names: the catalog's entry, or the bare name if unknown."""
    known = _catalog_match(text)
    if known is not None:
        return _describe(known, ip)
    for match in _LIST_NAMED.finditer(text):
        host = match.group(1)
        if any(word in host for word in _LIST_WORDS):
            link = re.search(rf"https?://{re.escape(host)}[^\s<>\"')]*", original or text, re.I)
            return {
                "id": None,
                "zone": host,
                "name": host,
                "status": "unknown",
                "removal_url": link.group().rstrip(".,") if link else "",
                "note": "not in the blocklist catalog: follow the link in the bounce",
                "remedy": f"Your IP is on {host}: follow the bounce's link to ask for removal.",
            }
    return None


def _catalog_match(text: str) -> Blocklist | None:
    best: Blocklist | None = None
    for entry, _ in _catalog_hosts():
        if entry.zone in text and (best is None or len(entry.zone) > len(best.zone)):
            best = entry
    if best is not None:
        return best
    for entry, hosts in _catalog_hosts():
        if any(h in text for h in hosts) and not entry.retired:
            return entry
    return None


@cache
def _catalog_hosts() -> tuple[tuple[Blocklist, tuple[str, ...]], ...]:
    """Each list of the packaged catalog with the hosts of its lookup and removal pages."""
    found = []
    for entry in load_catalog().lists:
        urls = (entry.lookup_url, entry.removal_url)
        found.append((entry, tuple({h for u in urls if (h := urlparse(u).hostname)})))
    return tuple(found)


def _describe(entry: Blocklist, ip: str) -> dict[str, Any]:
    if entry.retired:
        note = (
            f"retired {entry.status_date}: {entry.status_note} The receiver still queries a dead "
            "list, so it is misconfigured"
        )
        remedy = (
            f"{entry.name} no longer exists: ask the receiver's postmaster to stop querying "
            f"{entry.zone}; check the lists that still work (--check)."
        )
    else:
        note = entry.status_note
        target = ip or "{your IP}"
        remedy = (
            f"Your IP is listed on {entry.name}: ask for removal at {entry.removal_for(target)}"
        )
    return {
        "id": entry.id,
        "zone": entry.zone,
        "name": entry.name,
        "status": "retired" if entry.retired else "active",
        "removal_url": "" if entry.retired else entry.removal_for(ip or "{query}"),
        "note": note,
        "remedy": remedy,
    }


# ---------------------------------------------------------------------------------------------
# Providers
# ---------------------------------------------------------------------------------------------


def matching_rule(text: str, address: str) -> tuple[Provider | None, Rule | None]:
    """The recipient's provider, and the provider rule whose documented reply the text quotes."""
    domain = address.rpartition("@")[2].lower()
    home = next((p for p in load_providers() if domain in p.domains), None)
    best: tuple[float, Provider | None, Rule | None] = (0.0, None, None)
    if text:
        present = frozenset(_WORD.findall(text))
        for provider in load_providers():
            for rule in provider.rules:
                score = _similarity(rule.reply, text, present)
                if provider is home:
                    score += 0.05
                if score > best[0]:
                    best = (score, provider, rule)
    if best[0] >= RULE_MATCH:
        return best[1], best[2]
    return home, None


def _similarity(reply: str, text: str, present: frozenset[str]) -> float:
    """How much of a documented reply the text contains (its words and its status code)."""
    words = _reply_words(reply)
    if len(words) < 4:
        return 0.0
    share = sum(1 for w in words if w in present) / len(words)
    code = _reply_code(reply)
    if code and code not in text:
        share -= 0.2
    return share


@cache
def _reply_code(reply: str) -> str:
    found = re.search(r"\b[245]\.\d{1,3}\.\d{1,3}\b", reply)
    return found.group() if found else ""


@cache
def _reply_words(reply: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(reply.lower()) if w not in _PLACEHOLDER)
