"""Plain query functions over the KB; each takes a session owned by the caller."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.privacy import mask
from kb.build import to_dict
from kb.models import Entry, KbState, Report, ReportSentence, UnansweredQuestion, utcnow


def kb_version(session: Session) -> int:
    """The KB's change counter (0 for an empty KB)."""
    return session.scalar(select(KbState.version).where(KbState.id == 1)) or 0


def active_entries(session: Session) -> list[dict[str, Any]]:
    """Every entry that is not retired, in the YAML shape, facts included."""
    rows = session.scalars(
        select(Entry).where(Entry.retired.is_(False)).options(selectinload(Entry.facts)).order_by(Entry.topic, Entry.id)
    )
    return [_with_meta(entry) for entry in rows]


def _with_meta(entry: Entry) -> dict[str, Any]:
    """The YAML shape plus who changed it and when (for citing staff-provided details), as the plain dict that
    the search index and the actions read."""
    data: dict[str, Any] = dict(to_dict(entry))
    data["updated_by"], data["updated_at"] = entry.updated_by, entry.updated_at.isoformat()
    facts = [f for f in entry.facts if not f.retired]
    for item, fact in zip(data["facts"], facts, strict=True):
        item["created_at"] = fact.created_at.isoformat()
        item["sentence"] = fact.sentence
    return data


def kb_meta(session: Session) -> dict[str, Any]:
    """The newest report's year and title, and the contact entry: {"year", "title": {zh, en}, "contact_entry"}."""
    report = session.scalar(select(Report).order_by(Report.year.desc()).limit(1))
    return {
        "year": report.year if report else None,
        "title": {"zh": report.title_zh, "en": report.title_en} if report else None,
        "contact_entry": session.scalar(select(KbState.contact_entry).where(KbState.id == 1)),
    }


def report_sentence_texts(session: Session) -> list[str]:
    """The report's sentences, in order."""
    return list(session.scalars(select(ReportSentence.text).order_by(ReportSentence.position)))


def record_unanswered(session: Session, text: str, lang: str) -> None:
    """Count a question the bot could not answer (same text counted once, with a count), personal numbers masked:
    this is the one write of the queue every staff role reads, whatever reached the action server."""
    text = mask(text.strip())[:500]
    if not text:
        return
    row = session.scalar(select(UnansweredQuestion).where(UnansweredQuestion.text == text))
    if row is None:
        session.add(UnansweredQuestion(text=text, lang=lang))
    else:
        row.count += 1
        row.last_seen = utcnow()
