"""The one shape of a KB entry, as the YAML source, staff edits, admin forms, export/import and the actions
all see it; and the one list of staff-only fields.

The database columns (kb.models) and the admin form fields are generated from `STAFF_FIELDS`, so adding a
staff field is one item in `kb/source/staff_fields.yml` plus an Alembic migration (`make migration MSG=...`).
The checks of this shape live in one function too: `kb.source.entry_problems`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

import yaml

Lang = Literal["zh", "en"]
FactKind = Literal["amount", "count", "rate", "statement"]
FACT_KINDS: tuple[FactKind, ...] = ("amount", "count", "rate", "statement")
Source = Literal["report", "staff"]  # who gave an entry or a fact: the work report, or staff


class Pair(TypedDict):
    """One text in both languages."""

    zh: str
    en: str


class Words(TypedDict):
    """Words in both languages (aliases, keywords)."""

    zh: list[str]
    en: list[str]


class OptionalPair(TypedDict, total=False):
    """A staff-only field's value: either language may be missing."""

    zh: str | None
    en: str | None


class FactData(TypedDict, total=False):
    """One figure or statement of an entry. Report facts carry their verbatim `quote`; staff facts don't."""

    key: str
    kind: FactKind
    figure: str | None  # as written in the zh text and in the quote ("1428.35万元"); None or "": no figure
    figure_en: str | None  # as written in the en text ("14.2835 million")
    zh: str
    en: str
    keywords: Words
    quote: str
    report: int  # the year of the report the quote is from (report facts; checked against that report)
    series: str  # facts of one entry with the same series are one figure in several years (default: the key)
    source: Source
    created_by: str
    created_at: str  # ISO 8601
    sentence: str  # the whole report sentence holding the quote (read from the KB, not written in YAML)


class EntryData(TypedDict, total=False):
    """A resident-facing service or fact from the report, with staff-only details."""

    id: str
    topic: str
    title: Pair
    summary: Pair
    aliases: Words
    situations: Words  # how residents describe the need without naming the service (search, NLU examples)
    related: list[str]
    facts: list[FactData]
    staff: dict[str, OptionalPair]  # name from STAFF_FIELDS -> value
    retired: bool
    updated_by: str  # read from the KB, not written in YAML
    updated_at: str


class EntryMeta(TypedDict, total=False):
    """An exported entry's bookkeeping; on import, `revision` guards against overwriting a later admin change."""

    revision: int
    source: Source
    staff_edited: bool
    updated_by: str
    updated_at: str | None


class ExportedEntry(EntryData, total=False):
    """An entry as `python -m kb export` writes it and the import reads it: the shape above plus `meta`."""

    meta: EntryMeta


@dataclass(frozen=True)
class StaffField:
    """A detail only staff can give (the report never does); the bot never invents one."""

    name: str
    label: Pair  # how residents and staff read its name
    asks: str  # a regular expression of the words that ask for it in a question
    long: bool = False  # several lines in the admin form


STAFF_FIELDS_FILE = Path(__file__).parent / "source" / "staff_fields.yml"


def _read_staff_fields(path: Path) -> tuple[tuple[StaffField, ...], tuple[str, ...]]:
    """The fields and the order they are asked in, from the reviewable data file (checked: names unique,
    `asked_order` the same names, every `asks` a valid regular expression)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fields = tuple(
        StaffField(f["name"], Pair(zh=f["label"]["zh"], en=f["label"]["en"]), f["asks"], bool(f.get("long")))
        for f in data["fields"]
    )
    names = [f.name for f in fields]
    if len(set(names)) != len(names) or sorted(data["asked_order"]) != sorted(names):
        raise ValueError(f"{path}: field names must be unique and asked_order must list each once")
    for f in fields:
        re.compile(f.asks)
    return fields, tuple(data["asked_order"])


STAFF_FIELDS, ASKED_ORDER = _read_staff_fields(STAFF_FIELDS_FILE)
STAFF_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in STAFF_FIELDS)

_BY_NAME = {f.name: f for f in STAFF_FIELDS}


def staff_field(name: str) -> StaffField:
    """The definition of one staff field (KeyError for an unknown name)."""
    return _BY_NAME[name]
