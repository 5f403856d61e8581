"""The whole KB as one YAML file and back: export for review in git, import all or nothing after a dry run.

An import writes through kb.edits, with the same checks, revisions and KB version as an admin save. It is
all or nothing: every entry is checked first, and one conflict or invalid entry refuses the whole file. `meta.revision` is the entry's revision at export time; an entry
changed in the admin since then is a conflict rather than silently overwritten.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kb.build import apply_dict, iso, parse_iso, to_dict
from kb.diff import Change, diff
from kb.edits import StaffError, create_entry, prepare, update_entry
from kb.models import Entry
from kb.queries import report_sentences_by_year
from kb.shape import EntryData, EntryMeta, ExportedEntry, FactData, Source

EXPORT_HEADER = (
    "# Zhitang Assistant knowledge base: every entry, for review in git.\n"
    "# Import with `python -m kb import FILE --dry-run` (then without --dry-run) or on the admin's\n"
    "# import page. `meta.revision` guards against overwriting a change made in the admin since this export.\n"
)


def export_entries(session: Session) -> list[ExportedEntry]:
    """Every entry, retired ones too, in the YAML shape with its bookkeeping under `meta`."""
    rows = session.scalars(select(Entry).options(selectinload(Entry.facts)).order_by(Entry.topic, Entry.id))
    return [
        {
            **to_dict(entry),
            "meta": {
                "revision": entry.revision,
                "source": entry.source,
                "staff_edited": entry.staff_edited,
                "updated_by": entry.updated_by,
                "updated_at": iso(entry.updated_at),
            },
        }
        for entry in rows
    ]


class _PlainDumper(yaml.SafeDumper):
    """Writes every value out in full, never as an anchor and alias (the import refuses those)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def export_yaml(session: Session) -> str:
    """All entries as one YAML document (stable order, readable Chinese)."""
    body = yaml.dump(export_entries(session), Dumper=_PlainDumper, allow_unicode=True, sort_keys=False, width=1000)
    return EXPORT_HEADER + body


@dataclass
class ImportItem:
    """What importing one entry does (or would do): create, update, unchanged, conflict or invalid."""

    id: str
    status: str
    changes: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """The outcome of an import: one item per entry in the file; applied is False for a dry run or a refusal."""

    items: list[ImportItem] = field(default_factory=list)
    applied: bool = False
    problems: list[str] = field(default_factory=list)

    def ids(self, status: str) -> list[str]:
        """The ids of the entries with a status."""
        return [item.id for item in self.items if item.status == status]

    @property
    def ok(self) -> bool:
        """True when nothing in the file is refused."""
        return not self.problems and not any(i.status in ("conflict", "invalid") for i in self.items)

    def __str__(self) -> str:
        lines = list(self.problems)
        for item in self.items:
            if item.status == "unchanged":
                continue
            lines.append(f"{item.id}: {item.status}")
            lines += [f"    {change}" for change in item.changes]
            lines += [f"    ! {problem}" for problem in item.problems]
        counts = ", ".join(
            f"{status} {len(self.ids(status))}" for status in ("create", "update", "unchanged", "conflict", "invalid")
        )
        verdict = "applied" if self.applied else ("dry run, nothing changed" if self.ok else "refused, nothing changed")
        return "\n".join([*lines, f"import: {counts} ({verdict})"])


# What one import may hold. The town's KB exports as 40 entries, about 115 KB, 5,700 YAML values nested 6 deep;
# these leave room for forty times as much while keeping a hostile file from holding the gateway's memory and
# time (a 5 MB file of 1,900 entries: about 8 s to load and 20 s to compare, in a worker thread).
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ENTRIES = 2_000
MAX_IMPORT_NODES = 250_000  # scalars, lists and mappings
MAX_IMPORT_DEPTH = 12  # lists and mappings inside one another; an entry needs 6
# libyaml's parser when PyYAML was built with it (much faster); the same safe constructor either way.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_events(text: str) -> None:
    """Walk the file's YAML events before anything is built: StaffError for anchors and aliases, deep nesting or
    too many values. An alias would let a few hundred bytes stand for a billion values (the "billion laughs").
    """
    loader = _Loader(text)
    depth = nodes = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            line = event.start_mark.line + 1 if event.start_mark else "?"
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise StaffError(
                    f"第 {line} 行:不接受 YAML 锚点和引用(& 和 *),请把内容直接写出来 / line {line}: YAML anchors "
                    "and aliases (& and *) are not accepted; write the content out in full"
                )
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_IMPORT_NODES:
                    raise StaffError(
                        f"文件的值超过 {MAX_IMPORT_NODES:,} 个 / The file holds more than {MAX_IMPORT_NODES:,} values"
                    )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_IMPORT_DEPTH:
                    raise StaffError(
                        f"第 {line} 行:嵌套超过 {MAX_IMPORT_DEPTH} 层 / line {line}: nested more than "
                        f"{MAX_IMPORT_DEPTH} levels deep"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()


def _load_items(text: str) -> list[ExportedEntry]:
    """The file's entries, or StaffError: too large, not YAML, anchors, too deep or too many, ids missing or twice."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_IMPORT_BYTES:
        limit = MAX_IMPORT_BYTES // (1024 * 1024)
        raise StaffError(f"文件超过 {limit} MB / The file is larger than {limit} MB ({size / 1024 / 1024:.1f} MB)")
    try:
        _check_events(text)
        data = yaml.load(text, Loader=_Loader)  # a safe loader: plain values only, no Python objects
    except yaml.YAMLError as err:
        raise StaffError(f"YAML 格式错误 / Not valid YAML: {err}") from err
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        data = data["entries"]
    if not isinstance(data, list):
        raise StaffError("文件应为条目列表,每个条目有 id / The file must be a list of entries, each with an id")
    if len(data) > MAX_IMPORT_ENTRIES:
        raise StaffError(
            f"一个文件最多 {MAX_IMPORT_ENTRIES:,} 个条目,这个有 {len(data):,} 个 / A file may hold at most "
            f"{MAX_IMPORT_ENTRIES:,} entries; this one holds {len(data):,}"
        )
    problems = [
        f"第 {n} 个条目:id 应为文字,如 elder_allowance / entry {n}: id: must be a text such as elder_allowance"
        for n, item in enumerate(data, 1)
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip()
    ]
    if problems:
        raise StaffError(problems)
    counts = Counter(item["id"] for item in data)
    repeated = sorted(i for i, count in counts.items() if count > 1)
    if repeated:
        raise StaffError(f"条目重复:{', '.join(repeated)} / Entries appear twice: {', '.join(repeated)}")
    return data


# The fields of an entry, a fact and an export's `meta`: anything else is named rather than silently dropped.
_ENTRY_FIELDS = frozenset(EntryData.__annotations__) | {"meta"}
_FACT_FIELDS = frozenset(FactData.__annotations__)
_META_FIELDS = frozenset(EntryMeta.__annotations__)
_LANGS = ("zh", "en")


def shape_problems(item: dict[str, Any]) -> list[str]:
    """Fields of the wrong type (or unknown) in one imported entry, each "id: field: what it must be / 中文".

    Checked before anything reads the entry, so a list where a text belongs is named instead of crashing the
    import (or being turned into a text by str()); kb.source.entry_problems then checks the content.
    """
    eid = item["id"]
    problems: list[str] = []

    def bad(path: str, en: str, zh: str) -> None:
        problems.append(f"{eid}: {path}: {en} / {zh}")

    def text(value: object, path: str, optional: bool = True) -> None:
        if not isinstance(value, str) and not (optional and value is None):
            bad(path, "must be a text", "应为文字")

    def texts(value: object, path: str) -> None:
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            bad(path, "must be a list of texts", "应为文字列表")

    def mapping(value: object, path: str, known: frozenset[str] | tuple[str, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            bad(path, "must be a mapping of fields", "应为字段表")
            return {}
        for key in value:
            if key not in known:
                bad(f"{path}.{key}" if path else str(key), "unknown field", "未知字段")
        return value

    def pair(value: object, path: str) -> None:
        for lang, part in mapping(value, path, _LANGS).items():
            if lang in _LANGS:
                text(part, f"{path}.{lang}")

    def words(value: object, path: str) -> None:
        for lang, part in mapping(value, path, _LANGS).items():
            if lang in _LANGS:
                texts(part, f"{path}.{lang}")

    def figure(value: object, path: str) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
            bad(path, "must be a number or a text", "应为数字或文字")

    mapping(item, "", _ENTRY_FIELDS)
    for name in ("topic", "updated_by", "updated_at"):
        text(item.get(name), name)
    for name in ("title", "summary"):
        pair(item.get(name), name)
    for name in ("aliases", "situations"):
        words(item.get(name), name)
    related = item.get("related")
    if related is not None and not isinstance(related, list):
        bad("related", "must be a list of entry ids", "应为条目编号列表")
    for n, rel in enumerate(related if isinstance(related, list) else []):
        text(rel, f"related[{n}]", optional=False)
    staff = item.get("staff")
    if staff is not None and not isinstance(staff, dict):
        bad("staff", "must be a mapping of staff fields", "应为工作人员字段表")
    for name, value in (staff if isinstance(staff, dict) else {}).items():
        pair(value, f"staff.{name}")
    if item.get("retired") is not None and not isinstance(item["retired"], bool):
        bad("retired", "must be true or false", "应为 true 或 false")
    facts = item.get("facts")
    if facts is not None and not isinstance(facts, list):
        bad("facts", "must be a list of facts", "应为事实列表")
    for n, fact in enumerate(facts if isinstance(facts, list) else []):
        where = f"facts[{n}]"
        if not isinstance(fact, dict):
            bad(where, "must be a mapping of fields", "应为字段表")
            continue
        mapping(fact, where, _FACT_FIELDS)
        text(fact.get("key"), f"{where}.key", optional=False)
        for name in ("kind", "zh", "en", "quote", "source", "created_by", "sentence"):
            text(fact.get(name), f"{where}.{name}")
        figure(fact.get("figure"), f"{where}.figure")
        figure(fact.get("figure_en"), f"{where}.figure_en")
        words(fact.get("keywords"), f"{where}.keywords")
        created = fact.get("created_at")
        if created is not None and not isinstance(created, datetime):  # YAML reads an unquoted time as datetime
            try:
                if not isinstance(created, str):
                    raise ValueError(created)
                parse_iso(created)
            except ValueError:
                bad(f"{where}.created_at", "must be a time such as 2023-05-01T08:30:00+00:00", "应为时间")
    meta = mapping(item.get("meta"), "meta", _META_FIELDS)
    revision = meta.get("revision")
    if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int)):
        bad("meta.revision", "must be a whole number", "应为整数")
    if meta.get("source") not in (None, "report", "staff"):
        bad("meta.source", "must be report or staff", "应为 report 或 staff")
    if meta.get("staff_edited") is not None and not isinstance(meta["staff_edited"], bool):
        bad("meta.staff_edited", "must be true or false", "应为 true 或 false")
    text(meta.get("updated_by"), "meta.updated_by")
    return problems


def import_yaml(session: Session, text: str, user: str, dry_run: bool = False, force: bool = False) -> ImportReport:
    """Load entries from YAML: a dry run lists the differences; otherwise all are applied, or none if any is refused.

    An entry whose `meta.revision` is not the KB's current one was changed since the export: a conflict (`force`
    skips this check, for a file exported from another database, whose revision numbers mean nothing here).
    Entries missing from the file are left as they are (retire them with `retired: true`).
    """
    report = ImportReport()
    try:
        items = _load_items(text)
    except StaffError as err:
        report.problems = err.problems
        return report
    known = set(session.scalars(select(Entry.id))) | {item["id"] for item in items}
    plans: list[tuple[ImportItem, EntryData, Entry | None, EntryMeta]] = []
    with session.no_autoflush:
        for raw in items:
            eid, wrong = raw["id"], shape_problems(dict(raw))
            if wrong:
                report.items.append(ImportItem(eid, "invalid", problems=wrong))
                continue
            meta = raw.get("meta") or {}
            entry = session.get(Entry, eid, options=[selectinload(Entry.facts)])
            if entry is not None and not force and meta.get("revision") not in (None, entry.revision):
                item = ImportItem(eid, "conflict")
                item.problems.append(
                    f"导出后该条目已被 {entry.updated_by} 修改(第 {meta['revision']} 版 → 第 {entry.revision} 版) / "
                    f"changed by {entry.updated_by} since the export (revision {meta['revision']} → {entry.revision})"
                )
                report.items.append(item)
                continue
            try:
                full = prepare(session, entry, raw, user, keep_authorship=True, known_ids=known)
            except StaffError as err:
                report.items.append(ImportItem(eid, "invalid", problems=err.problems))
                continue
            after = Entry(id=eid)
            apply_dict(after, full, report_sentences_by_year(session), user)
            changes = diff(to_dict(entry) if entry is not None else None, to_dict(after))
            status = "create" if entry is None else ("update" if changes else "unchanged")
            item = ImportItem(eid, status, changes)
            report.items.append(item)
            plans.append((item, full, entry, meta))
    if dry_run or not report.ok:
        return report
    for item, full, entry, meta in plans:
        if item.status == "create":
            source: Source = "report" if meta.get("source") == "report" else "staff"
            edited = meta.get("staff_edited") is not False
            create_entry(session, full, user, source, keep_authorship=True, known_ids=known, staff_edited=edited)
        elif item.status == "update" and entry is not None:
            update_entry(session, item.id, full, entry.revision, user, "import", keep_authorship=True, known_ids=known)
    session.flush()
    report.applied = True
    return report
