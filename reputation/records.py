"""Records whose JSON form is their fields: one writer and reader for the small dataclasses
that reports, messages and bounces are made of."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar


class FlatRecord:
    """A dataclass whose JSON is its fields in declaration order: enums as text, lists and dicts
    copied, records inside as their own JSON. KEYS names a field's JSON key where it differs;
    a field named in OMIT stays out of the JSON."""

    KEYS: ClassVar[Mapping[str, str]] = {}
    OMIT: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {key: plain(getattr(self, name)) for name, key in _json_keys(type(self))}


@cache
def _json_keys(cls: type[FlatRecord]) -> tuple[tuple[str, str], ...]:
    """(field, JSON key) of a record class in declaration order, worked out once per class."""
    return tuple(
        (f.name, cls.KEYS.get(f.name, f.name))
        for f in fields(cls)  # type: ignore[arg-type]
        if f.name not in cls.OMIT
    )


_AS_IS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """A value as JSON data: enums as text, records as their to_dict(), containers copied."""
    if type(value) in _AS_IS:  # most values: checked first, as asking the others costs
        return value
    if isinstance(value, StrEnum):
        return str(value)
    if hasattr(value, "to_dict"):  # a record, flat or with a JSON form of its own
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def read_fields(cls: Any, data: Mapping[str, Any], keys: Mapping[str, str] | None = None) -> dict:
    """The fields of a flat record read back from its JSON; a field added later may be missing
    (its default applies)."""
    keys = keys or {}
    read: dict[str, Any] = {}
    for f in fields(cls):
        key = keys.get(f.name, f.name)
        if key in data:
            read[f.name] = plain(data[key])
        elif f.default is MISSING and f.default_factory is MISSING:
            raise KeyError(key)
    return read
