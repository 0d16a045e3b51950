"""Secrets never printed: list keys are replaced by a placeholder wherever text leaves the tool.

A key is remembered when it is read from the environment; every renderer and every text the
blocklist code records passes through `redact`, so the key appears in no report, health line
or error message, whatever the format.
"""

from __future__ import annotations

import re

# Shorter values could match ordinary words; real list keys are far longer.
MIN_SECRET_LENGTH = 4

_known: dict[str, str] = {}  # secret value -> placeholder


def remember(env_name: str, value: str) -> None:
    """Hide `value` from now on behind a placeholder naming where it came from."""
    if len(value) >= MIN_SECRET_LENGTH:
        _known[value] = placeholder(env_name)


def placeholder(env_name: str) -> str:
    return f"<{env_name}>"


def redact(text: str) -> str:
    """`text` with every remembered secret replaced by its placeholder (in any letter case,
    since DNS names are case-insensitive)."""
    if not _known:
        return text
    # Longest first: one key may begin with another that this process has also seen.
    for secret, shown in sorted(_known.items(), key=lambda item: -len(item[0])):
        text = re.sub(re.escape(secret), lambda _, shown=shown: shown, text, flags=re.IGNORECASE)
    return text
