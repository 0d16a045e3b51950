"""`--shard K/N`: a deterministic share of the targets, so N hosts cover a fleet once."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from reputation.inputs import BadInput

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based: K in K/N
    count: int  # N

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, key: str) -> bool:
        """Same answer on every host and every run: a hash of the key, never Python's hash()."""
        if self.count == 1:
            return True
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.count == self.index - 1


WHOLE = Shard(1, 1)


def parse_shard(text: str | None) -> Shard:
    if text is None:
        return WHOLE
    match = _SPEC.match(text)
    if not match:
        raise BadInput(f"invalid shard {text!r}: expected K/N, e.g. 2/4")
    index, count = int(match[1]), int(match[2])
    if not 1 <= index <= count:
        raise BadInput(f"invalid shard {text!r}: K must be between 1 and N")
    return Shard(index, count)
