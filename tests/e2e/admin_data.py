"""What a clerk finds on a working day, written into a KB and a tracker store for the admin's browser tests and its
screenshots: a month of conversations, an unanswered queue with variants and off-topic questions, details residents
asked for that nobody filled, 👍/👎 on several topics, and ratings (two of them 不满意)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from kb.db import session_factory
from kb.edits import restore_revision, retire_entry
from kb.models import Entry, Feedback, Revision, Satisfaction
from kb.queries import record_unanswered
from tests.tracker_events import Message, insert, random_messages

QUEUE = [  # (text, lang, times, kind)
    ("明天会下雨吗", "zh", 12, "out_of_scope"),
    ("明天會下雨嗎？", "zh", 5, "out_of_scope"),
    ("请问明天会下雨吗!", "zh", 2, "out_of_scope"),
    ("老年人有哪些福利", "zh", 6, "dont_know"),
    ("尊老金每年几月份发放?", "zh", 4, "dont_know"),
    ("加微信领红包 vx123", "zh", 3, "dont_know"),
    ("where do I park my bike", "en", 3, "dont_know"),
    ("医保卡丢了怎么补办", "zh", 2, "did_you_mean"),
]
GAPS = [  # (question, entry, fields, times): "not in the KB" replies about staff fields
    ("服务中心在哪里", "service_centre", ["address"], 9),
    ("服务中心电话多少", "service_centre", ["phone"], 7),
    ("尊老金几点上班", "elder_allowance", ["hours"], 5),
    ("法律顾问电话", "village_legal_adviser", ["phone"], 3),
    ("尊老金要带什么材料", "elder_allowance", ["documents"], 2),
]
FEEDBACK = [("elder_allowance", "up", 6), ("elder_allowance", "down", 3), ("village_legal_adviser", "up", 2)]
FEEDBACK += [("village_legal_adviser", "down", 1), ("medical_reimbursement", "down", 2), (None, "down", 1)]
RATINGS = ["very_satisfied"] * 5 + ["satisfied"] * 4 + ["basic"] * 2 + ["dissatisfied", "very_dissatisfied"]
UNHAPPY_SESSION = "e2e-seed-unhappy-01"
SEEDED = "e2e-seed-"  # every conversation written here starts so (tests delete them by it)


def seed_kb(kb_url: str, now: datetime | None = None) -> None:
    """The queue, the field gaps, feedback and ratings (each bad rating's conversation: `seed_tracker`)."""
    now = now or datetime.now(timezone.utc)
    with session_factory(kb_url)() as session, session.begin():
        for text, lang, times, kind in QUEUE:
            for _ in range(times):
                record_unanswered(session, text, lang, kind)
        for text, entry, fields, times in GAPS:
            for _ in range(times):
                record_unanswered(session, text, "zh", "field_unknown", entry, fields)
        for n, (entry, rating, times) in enumerate(FEEDBACK):
            for k in range(times):
                session.add(
                    Feedback(
                        session=f"e2e-feedback-{n:02d}-{k:02d}",
                        rating=rating,
                        question="尊老金发了多少?",
                        answer="2022年，支塘镇发放尊老金1428.35万元。",
                        entry_id=entry,
                        lang="zh",
                        created_at=now - timedelta(days=k + 1),
                    )
                )
        for n, level in enumerate(RATINGS):
            unhappy = level in ("dissatisfied", "very_dissatisfied")
            session.add(
                Satisfaction(
                    session=f"{UNHAPPY_SESSION[:-2]}{n:02d}" if unhappy else f"e2e-rating-{n:02d}-resident",
                    level=level,
                    occasion="handoff" if n % 3 == 0 else "end",
                    lang="zh",
                    created_at=now - timedelta(days=n % 20, hours=2),
                )
            )


def seed_tracker(tracker_db: Path | str, now: datetime | None = None, messages: int = 900) -> int:
    """A month of conversations in the tracker store (made if missing), with the bad ratings' conversations."""
    now = now or datetime.now(timezone.utc)
    engine = sa.create_engine(f"sqlite:///{tracker_db}")
    end = now.timestamp()
    written = insert(engine, random_messages(messages, end - 29 * 86400, end, prefix=SEEDED))
    unhappy = [
        Message(f"{UNHAPPY_SESSION[:-2]}{n:02d}", end - 86400 * (n % 20) - 7200 + k, text, kind=kind)
        for n, level in enumerate(RATINGS)
        if level in ("dissatisfied", "very_dissatisfied")
        for k, (text, kind) in enumerate([("服务中心几点开门", "field_unknown"), ("转人工", "handoff")])
    ]
    written += insert(engine, unhappy)
    engine.dispose()
    return written


def entry_revisions(session) -> tuple[int, dict[str, int]]:
    """The last revision's id and every entry's revision: what `restore_entries` puts back afterwards."""
    mark = session.scalar(sa.select(sa.func.max(Revision.id))) or 0
    return mark, {e.id: e.revision for e in session.scalars(sa.select(Entry))}


def restore_entries(session, mark: int, before: dict[str, int]) -> None:
    """Retire the entries a test added and restore those it changed to their revision from before `mark`."""
    for entry in session.scalars(sa.select(Entry)):
        if entry.id not in before and not entry.retired:
            retire_entry(session, entry.id, None, "e2e-cleanup")
        elif entry.id in before and entry.revision != before[entry.id]:
            first = session.scalar(
                sa.select(Revision.id)
                .where(Revision.entry_id == entry.id, Revision.id <= mark)
                .order_by(Revision.id.desc())
            )
            restore_revision(session, first, None, "e2e-cleanup")
