"""Load checked YAML entries into the database without ever overwriting a staff member's edit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, overload

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot import settings
from kb.models import BUILD_USER, Entry, Fact, KbState, Report, ReportSentence, Revision, utcnow
from kb.shape import STAFF_FIELD_NAMES, EntryData, FactData, OptionalPair, Words
from kb.source import ReportMeta, Sentences, load_report_meta, report_sentences, sentence_of, sentences_of_report


@dataclass
class BuildReport:
    """What a build did, entry ids by outcome."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_staff_edit: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"{name.replace('_', ' ')} {len(ids)}" for name, ids in vars(self).items()]
        kept = f" (kept: {', '.join(self.kept_staff_edit)})" if self.kept_staff_edit else ""
        return "KB build: " + ", ".join(parts) + kept


@overload
def iso(moment: datetime) -> str: ...
@overload
def iso(moment: datetime | None) -> str | None: ...


def iso(moment: datetime | None) -> str | None:
    """A timestamp as ISO 8601 in UTC, to the second (naive values, as SQLite returns them, are UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_iso(value: Any) -> datetime | None:
    """The inverse of `iso` (also accepts a datetime, as YAML may load one)."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _provenance(fact: Fact) -> FactData:
    """Who provided a fact that is not from the report, and when."""
    if fact.source == "report":
        return {}
    when = iso(fact.created_at)
    return {"source": fact.source, "created_by": fact.created_by, **({"created_at": when} if when else {})}


def to_dict(entry: Entry) -> EntryData:
    """An entry in the reviewable YAML shape (used for revisions and export)."""
    staff: dict[str, OptionalPair] = {}
    for name in STAFF_FIELD_NAMES:
        value = OptionalPair(zh=getattr(entry, f"{name}_zh"), en=getattr(entry, f"{name}_en"))
        if any(value.values()):
            staff[name] = value
    return {
        "id": entry.id,
        "topic": entry.topic,
        "title": {"zh": entry.title_zh, "en": entry.title_en},
        "summary": {"zh": entry.summary_zh, "en": entry.summary_en},
        "aliases": {"zh": list(entry.aliases_zh or []), "en": list(entry.aliases_en or [])},
        "situations": {"zh": list(entry.situations_zh or []), "en": list(entry.situations_en or [])},
        "related": list(entry.related or []),
        "facts": [
            {
                "key": f.key,
                "kind": f.kind,
                **({"figure": f.figure} if f.figure else {}),
                **({"figure_en": f.figure_en} if f.figure_en else {}),
                "zh": f.text_zh,
                "en": f.text_en,
                "keywords": {"zh": list(f.keywords_zh or []), "en": list(f.keywords_en or [])},
                **({"quote": f.quote} if f.quote else {}),
                **({"report": f.report_year} if f.report_year is not None else {}),
                **({"series": f.series} if f.series and f.series != f.key else {}),
                **_provenance(f),
            }
            for f in entry.facts
            if not f.retired
        ],
        "staff": staff,
        **({"retired": True} if entry.retired else {}),
    }


def apply_dict(entry: Entry, data: EntryData, sentences: Sentences, user: str) -> None:
    """Set an entry's columns and facts from the YAML shape (`sentences`: see kb.source.entry_problems)."""
    entry.topic = data["topic"]
    entry.title_zh, entry.title_en = data["title"]["zh"], data["title"]["en"]
    entry.summary_zh, entry.summary_en = data["summary"]["zh"], data["summary"]["en"]
    aliases = data.get("aliases") or Words(zh=[], en=[])
    entry.aliases_zh, entry.aliases_en = list(aliases.get("zh") or []), list(aliases.get("en") or [])
    situations = data.get("situations") or Words(zh=[], en=[])
    entry.situations_zh = list(situations.get("zh") or [])
    entry.situations_en = list(situations.get("en") or [])
    entry.related = list(data.get("related") or [])
    staff = data.get("staff") or {}
    for name in STAFF_FIELD_NAMES:
        value = staff.get(name) or {}
        for lang in ("zh", "en"):
            setattr(entry, f"{name}_{lang}", (value.get(lang) or None) if isinstance(value, dict) else None)
    entry.retired = bool(data.get("retired", False))
    entry.facts.clear()
    for position, item in enumerate(data.get("facts") or []):
        keywords = item.get("keywords") or Words(zh=[], en=[])
        quote = item.get("quote")
        year = item.get("report") if quote else None
        entry.facts.append(
            Fact(
                key=item["key"],
                position=position,
                kind=item.get("kind", "statement"),
                figure=str(item["figure"]) if item.get("figure") is not None else None,
                figure_en=str(item["figure_en"]) if item.get("figure_en") is not None else None,
                text_zh=item["zh"],
                text_en=item["en"],
                keywords_zh=list(keywords.get("zh") or []),
                keywords_en=list(keywords.get("en") or []),
                quote=quote,
                sentence=sentence_of(quote, sentences_of_report(sentences, year)) if quote else None,
                report_year=year,
                series=item.get("series") or None,
                source=item.get("source", "report"),
                created_by=item.get("created_by", user),
                **({"created_at": parse_iso(item["created_at"])} if item.get("created_at") else {}),
            )
        )


def record_revision(
    session: Session, entry: Entry, action: str, user: str, before: EntryData | None = None
) -> Revision:
    """Write who changed an entry, when, and what it was before and after (the entry already flushed)."""
    revision = Revision(
        entry_id=entry.id, revision=entry.revision, action=action, changed_by=user, before=before, after=to_dict(entry)
    )
    session.add(revision)
    return revision


def bump_version(session: Session) -> None:
    """Move the KB version so every cache (search index, alias table) reloads."""
    state = session.get(KbState, 1)
    if state is None:
        session.add(KbState(id=1, version=1))
    else:
        state.version += 1


def record_report(session: Session, meta: ReportMeta, text: str, user: str) -> Report:
    """Store a report (year, title, publication date, text) and its sentences, or update the one of that year."""
    row = session.scalar(select(Report).where(Report.year == meta.year))
    if row is None:
        row = Report(year=meta.year, added_by=user)
        session.add(row)
    row.title_zh, row.title_en, row.published, row.text = meta.title["zh"], meta.title["en"], meta.published, text
    session.flush()
    session.execute(delete(ReportSentence).where(ReportSentence.report_year == meta.year))
    session.add_all(
        ReportSentence(report_year=meta.year, position=i, text=s) for i, s in enumerate(report_sentences(text))
    )
    return row


def record_meta(session: Session, meta: ReportMeta) -> None:
    """Store the contact entry (kb/source/report.yml)."""
    state = session.get(KbState, 1)
    if state is None:
        session.add(KbState(id=1, version=0, contact_entry=meta.contact_entry))
        session.flush()
    else:
        state.contact_entry = meta.contact_entry


def _of_report(item: EntryData, year: int) -> EntryData:
    """An entry of the YAML source with each quoted fact naming the report it quotes (the base report)."""
    facts = [
        FactData(**{**f, "report": f.get("report") or year}) if f.get("quote") else f for f in item.get("facts") or []
    ]
    return EntryData(**{**item, "facts": facts})


def build(
    session: Session,
    entries: list[EntryData],
    report: str,
    user: str = BUILD_USER,
    meta: ReportMeta | None = None,
) -> BuildReport:
    """Insert new entries, refresh unedited ones, keep staff edits, retire report entries gone from YAML.

    `meta` is the report's metadata (kb/source/report.yml by default).
    """
    result = BuildReport()
    meta = meta or load_report_meta(settings.REPORT_META_PATH)
    record_report(session, meta, report, user)
    record_meta(session, meta)
    sentences = report_sentences(report)
    session.execute(delete(ReportSentence).where(ReportSentence.report_year.is_(None)))  # from before reports by year

    wanted = {item["id"]: _of_report(item, meta.year) for item in entries}
    existing = {e.id: e for e in session.scalars(select(Entry))}
    for eid, item in wanted.items():
        entry = existing.get(eid)
        if entry is None:
            entry = Entry(id=eid, source="report", updated_by=user)
            apply_dict(entry, item, sentences, user)
            session.add(entry)
            session.flush()
            record_revision(session, entry, "create", user)
            result.created.append(eid)
            continue
        if entry.staff_edited:
            result.kept_staff_edit.append(eid)
            continue
        before = to_dict(entry)
        probe = Entry(id=eid)
        apply_dict(probe, item, sentences, user)
        if to_dict(probe) == before:
            result.unchanged.append(eid)
            continue
        entry.facts.clear()
        session.flush()  # delete the old facts first: the new ones reuse their (entry_id, key)
        apply_dict(entry, item, sentences, user)
        entry.updated_by, entry.updated_at = user, utcnow()
        session.flush()
        record_revision(session, entry, "update", user, before)
        result.updated.append(eid)
    for eid, entry in existing.items():
        if eid not in wanted and entry.source == "report" and not entry.staff_edited and not entry.retired:
            before = to_dict(entry)
            entry.retired, entry.updated_by, entry.updated_at = True, user, utcnow()
            session.flush()
            record_revision(session, entry, "retire", user, before)
            result.retired.append(eid)
    bump_version(session)
    return result
