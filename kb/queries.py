"""Plain query functions over the KB; each takes a session owned by the caller."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.privacy import mask
from kb.build import to_dict
from kb.models import Entry, FieldGap, KbState, Report, ReportSentence, UnansweredQuestion, utcnow
from kb.questions import question_key
from kb.shape import STAFF_FIELD_NAMES


def kb_version(session: Session) -> int:
    """The KB's change counter (0 for an empty KB)."""
    return session.scalar(select(KbState.version).where(KbState.id == 1)) or 0


def active_entries(session: Session) -> list[dict[str, Any]]:
    """Every entry that is not retired, in the YAML shape, facts included (one per series: see `by_year`)."""
    rows = session.scalars(
        select(Entry).where(Entry.retired.is_(False)).options(selectinload(Entry.facts)).order_by(Entry.topic, Entry.id)
    )
    titles = {r.year: {"zh": r.title_zh, "en": r.title_en} for r in session.scalars(select(Report))}
    return [_with_meta(entry, titles) for entry in rows]


def entries_by_id(session: Session, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The named entries that are not retired, by id, in the shape of `active_entries`."""
    rows = session.scalars(
        select(Entry).where(Entry.id.in_(list(ids)), Entry.retired.is_(False)).options(selectinload(Entry.facts))
    )
    return {entry.id: _with_meta(entry) for entry in rows}


def _with_meta(entry: Entry, titles: dict[int, dict[str, str]] | None = None) -> dict[str, Any]:
    """The YAML shape plus who changed it and when (for citing staff-provided details), as the plain dict that
    the search index and the actions read. The facts of one series (one figure in several reports' years) are
    one fact there: the newest year's, in the place of the series' first fact, with every year of it in
    `by_year`, newest first, each with its report's title."""
    data: dict[str, Any] = dict(to_dict(entry))
    data["updated_by"], data["updated_at"] = entry.updated_by, entry.updated_at.isoformat()
    facts = [f for f in entry.facts if not f.retired]
    for item, fact in zip(data["facts"], facts, strict=True):
        item["created_at"] = fact.created_at.isoformat()
        item["sentence"] = fact.sentence
        item["report_title"] = (titles or {}).get(fact.report_year) if fact.report_year is not None else None
    data["facts"] = by_series(data["facts"])
    return data


def by_series(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One fact per series, the newest report's leading (a staff fact, without a report, counts as newest),
    in the order the series first appear; each with `by_year`, every year of its series, newest first."""
    series: dict[str, list[dict[str, Any]]] = {}
    for item in facts:
        series.setdefault(item.get("series") or item["key"], []).append(item)
    out = []
    for members in series.values():
        years = sorted(members, key=lambda f: -(f.get("report") or 10**4))
        out.append({**years[0], "by_year": years})
    return out


def kb_meta(session: Session) -> dict[str, Any]:
    """The newest report's year and title, and the contact entry: {"year", "title": {zh, en}, "contact_entry"}."""
    report = session.scalar(select(Report).order_by(Report.year.desc()).limit(1))
    return {
        "year": report.year if report else None,
        "title": {"zh": report.title_zh, "en": report.title_en} if report else None,
        "contact_entry": session.scalar(select(KbState.contact_entry).where(KbState.id == 1)),
    }


def report_years(session: Session) -> list[int]:
    """The years of the reports in the KB, oldest first."""
    return list(session.scalars(select(Report.year).order_by(Report.year)))


def report_sentence_texts(session: Session) -> list[str]:
    """The newest report's sentences, in order (what the bot quotes when no entry matches: under that
    report's title, so never a sentence of another year)."""
    newest = session.scalar(select(Report.year).order_by(Report.year.desc()).limit(1))
    return report_sentences_by_year(session).get(newest, []) if newest is not None else []


def report_sentences_by_year(session: Session) -> dict[int, list[str]]:
    """Every report's sentences, in order, by the report's year (the quotes of its facts are checked there)."""
    out: dict[int, list[str]] = {}
    rows = session.execute(
        select(ReportSentence.report_year, ReportSentence.text).order_by(
            ReportSentence.report_year, ReportSentence.position
        )
    )
    for year, text in rows:
        if year is not None:
            out.setdefault(year, []).append(text)
    return out


def record_unanswered(
    session: Session,
    text: str,
    lang: str,
    kind: str | None = None,
    entry_id: str | None = None,
    fields: Sequence[str] = (),
) -> None:
    """Count a question the bot could not answer (same text counted once, with a count), personal numbers masked:
    this is the one write of the queue every staff role reads, whatever reached the action server.

    `kind` is what the bot replied (actions/service.py UNANSWERED_KINDS). A question of a group staff dismissed
    (kb.questions) is counted and stays dismissed; a new wording of it starts dismissed. When the bot said a
    staff field of `entry_id` is not in the KB, the `fields` asked for count as gaps (kb.models.FieldGap).
    """
    if entry_id and fields:
        count_field_gaps(session, entry_id, fields)
    text = mask(text.strip())[:500]
    if not text:
        return
    row = session.scalar(select(UnansweredQuestion).where(UnansweredQuestion.text == text))
    key = question_key(text)
    if row is None:
        row = UnansweredQuestion(text=text, lang=lang, group_key=key, kind=kind)
        dismissed = session.scalar(
            select(UnansweredQuestion)
            .where(UnansweredQuestion.group_key == key, UnansweredQuestion.dismissed_at.is_not(None))
            .limit(1)
        )
        if dismissed is not None:
            row.dismissed_reason, row.dismissed_by = dismissed.dismissed_reason, dismissed.dismissed_by
            row.dismissed_at = dismissed.dismissed_at
        session.add(row)
    else:
        row.count += 1
        row.last_seen = utcnow()
        row.group_key = row.group_key or key
        row.kind = kind or row.kind


# The contact entry's details the bot offers instead when an entry lacks one (actions.answering.contact_lines).
CONTACT_FIELDS = ("phone", "address", "hours")


def count_field_gaps(session: Session, entry_id: str, fields: Sequence[str]) -> None:
    """Count each asked staff field the entry has not filled; the contact entry's own phone, address or hours
    count too when it lacks the one asked for (the bot would have given it instead)."""
    entry = session.get(Entry, entry_id)
    if entry is None:
        return
    gaps = [(entry_id, name) for name in dict.fromkeys(fields) if name in STAFF_FIELD_NAMES]
    gaps = [(eid, name) for eid, name in gaps if not entry.staff_field(name, "zh")]
    contact_id = session.scalar(select(KbState.contact_entry).where(KbState.id == 1))
    contact = session.get(Entry, contact_id) if contact_id and contact_id != entry_id else None
    if contact is not None:
        gaps += [
            (contact.id, name) for _, name in gaps if name in CONTACT_FIELDS and not contact.staff_field(name, "zh")
        ]
    now = utcnow()
    for eid, name in dict.fromkeys(gaps):
        row = session.scalar(select(FieldGap).where(FieldGap.entry_id == eid, FieldGap.field == name))
        if row is None:
            session.add(FieldGap(entry_id=eid, field=name, count=1, first_seen=now, last_seen=now))
        else:
            row.count += 1
            row.last_seen = now
