"""The whole KB as one YAML file and back: export for review in git, import all or nothing after a dry run.

An import writes through kb.edits, with the same checks, revisions and KB version as an admin save. It is
all or nothing: every entry is checked first, and one conflict or invalid entry refuses the whole file. `meta.revision` is the entry's revision at export time; an entry
changed in the admin since then is a conflict rather than silently overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kb.build import apply_dict, iso, to_dict
from kb.diff import Change, diff
from kb.edits import StaffError, create_entry, prepare, update_entry
from kb.models import Entry
from kb.queries import report_sentence_texts
from kb.shape import EntryData, EntryMeta, ExportedEntry

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


def export_yaml(session: Session) -> str:
    """All entries as one YAML document (stable order, readable Chinese)."""
    body = yaml.safe_dump(export_entries(session), allow_unicode=True, sort_keys=False, width=1000)
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


def _load_items(text: str) -> list[ExportedEntry]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise StaffError(f"YAML 格式错误 / Not valid YAML: {err}") from err
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        data = data["entries"]
    if not isinstance(data, list) or not all(isinstance(item, dict) and item.get("id") for item in data):
        raise StaffError("文件应为条目列表,每个条目有 id / The file must be a list of entries, each with an id")
    ids = [str(item["id"]) for item in data]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise StaffError(f"条目重复:{', '.join(repeated)} / Entries appear twice: {', '.join(repeated)}")
    return data


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
    known = set(session.scalars(select(Entry.id))) | {str(item["id"]) for item in items}
    plans: list[tuple[ImportItem, EntryData, Entry | None, EntryMeta]] = []
    with session.no_autoflush:
        for raw in items:
            eid, meta = str(raw["id"]), raw.get("meta") or {}
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
            apply_dict(after, full, report_sentence_texts(session), user)
            changes = diff(to_dict(entry) if entry is not None else None, to_dict(after))
            status = "create" if entry is None else ("update" if changes else "unchanged")
            item = ImportItem(eid, status, changes)
            report.items.append(item)
            plans.append((item, full, entry, meta))
    if dry_run or not report.ok:
        return report
    for item, full, entry, meta in plans:
        if item.status == "create":
            source = str(meta.get("source") or "staff")
            edited = meta.get("staff_edited") is not False
            create_entry(session, full, user, source, keep_authorship=True, known_ids=known, staff_edited=edited)
        elif item.status == "update":
            update_entry(session, item.id, full, entry.revision, user, "import", keep_authorship=True, known_ids=known)
    session.flush()
    report.applied = True
    return report
