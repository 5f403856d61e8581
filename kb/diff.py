"""What differs between two versions of an entry, field by field, for the history, conflicts and import dry runs.

Entries are compared in the YAML shape (kb.shape.EntryData), flattened to dotted paths such as
"staff.hours.zh" or "facts.amount.figure": a fact is named by its key, not its position, so taking one
fact out does not make every later fact look changed. An empty value (None, "", [], False) equals another
empty value, so a field that was never filled and one that was cleared read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kb.shape import EntryData

_EMPTY: tuple[object, ...] = (None, "", [], False)


@dataclass(frozen=True)
class Change:
    """One field that differs between two versions of an entry ("staff.hours.zh", "facts.amount.figure")."""

    path: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.before)} → {_show(self.after)}"


def _show(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _flatten(data: Mapping[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """Every leaf of an entry under its dotted path; facts under their key."""
    out: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if key == "facts" and not prefix:
            for fact in value or []:
                out.update(_flatten({k: v for k, v in fact.items() if k != "key"}, f"facts.{fact.get('key')}."))
        elif isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def diff(before: EntryData | None, after: EntryData | None) -> list[Change]:
    """The fields that differ between two entries in the YAML shape, in a stable order."""
    old, new = _flatten(before), _flatten(after)
    keys = list(old) + [k for k in new if k not in old]
    return [
        Change(k, old.get(k), new.get(k))
        for k in keys
        if old.get(k) != new.get(k) and not (old.get(k) in _EMPTY and new.get(k) in _EMPTY)
    ]
