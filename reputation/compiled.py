"""Parsed data kept between runs in a compiled (pickled) form, so a one-off command starts fast.

`cached(name, sources, build)` returns what `build()` returns, loading it from the user's cache
directory when a copy made from the same source files and the same code exists (same paths,
sizes and modification times, same Python). Anything wrong with the cache (unwritable,
corrupt) falls back to `build()`: the cache can only make a run faster, never different.
Each installation of the package keeps its own copies, so two of them (two virtual environments,
a checkout beside an installed copy) never evict each other's. Set REPUTATION_NO_CACHE=1 to
bypass it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
PACKAGE_ROOT = os.path.dirname(os.path.realpath(__file__))
INSTALLATION = hashlib.sha256(PACKAGE_ROOT.encode()).hexdigest()[:8]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reputation"


def cached(name: str, sources: Sequence[Path], build: Callable[[], T]) -> T:
    if os.environ.get("REPUTATION_NO_CACHE"):
        return build()
    try:
        path = cache_dir() / f"{name}-{INSTALLATION}-{_fingerprint(sources)}.pickle"
    except OSError:  # a source is missing: nothing to key the cache on
        return build()
    try:
        with path.open("rb") as stored:
            return pickle.load(stored)  # the user's own cache, keyed by its sources
    except Exception:  # missing, unreadable, corrupt or from another code version: rebuild
        pass
    value = build()
    _store(path, value)
    return value


def _fingerprint(sources: Sequence[Path]) -> str:
    """The data files and the package's own code (whose classes the pickle holds)."""
    digest = hashlib.sha256(f"{sys.version}\0{_code_digest(PACKAGE_ROOT)}\0".encode())
    for source in sources:
        stat = source.stat()
        digest.update(f"{source.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:20]


@functools.cache
def _code_digest(root: str) -> str:
    """Every .py file under root (path, size, modification time), walked once per process:
    a pickle made by other code is never loaded. The paths are under an already resolved root,
    so one stat a file is all it costs."""
    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                stat = os.stat(path)
                digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _store(path: Path, value: object) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"{path.name.rsplit('-', 1)[0]}-*.pickle"):
            old.unlink(missing_ok=True)  # this installation's copies made from older sources
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(out.name, path)
    except (OSError, pickle.PicklingError):
        pass  # an unwritable cache only costs the next run the parse
