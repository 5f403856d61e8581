"""The numbers of the admin's start page and of "what to fill first", computed in SQL from what is stored.

- Rasa's tracker store (`events`, read as kb.retention reads it): the residents' questions per day and per hour
  of the last DAYS days (user events, greetings left out), their language (the `language` entity the NLU puts on
  each message that has one: bot.rasa_ext.components), and what the bot replied (the `kind` the actions send
  with each answer: actions/base.py, actions/handoff.py).
- The KB: 👍/👎 per topic (feedback), satisfaction ratings, the unanswered queue (kb.questions), field gaps, and
  the live handover as it stands (kb.handover's tables: waiting now, taken today, messages left to answer).

Every number is a GROUP BY over a time range. On the tracker store the range is read through one index,
`ix_zt_events_type_time` (type_name, timestamp, intent_name), which `tracker_indexes` adds to Rasa's table (Rasa
makes only one on sender_id): counts per day and hour are read from the index alone, the reply kinds and
languages from the rows it points to. tests/admin/test_admin_dashboard.py checks the plans; tests/scale
measures them on a million events.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from bot import settings
from kb.models import (
    SATISFACTION_LEVELS,
    Entry,
    Feedback,
    FieldGap,
    Handover,
    KbState,
    ResidentMessage,
    Satisfaction,
)
from kb.questions import QuestionGroup, groups
from kb.retention import EVENTS

DAYS = 30
COURTESY_INTENTS = ("greet",)  # the widget's hidden greeting and residents' hellos are not questions
TRACKER_INDEX = "ix_zt_events_type_time"
# What the bot replied, as the share of questions: answered, "did you mean", only the nearest report sentence,
# "not in the knowledge base / I don't know". Other replies (scope, language, source, handover) are not counted.
OUTCOMES: dict[str, tuple[str, ...]] = {
    "answered": ("answer", "field", "summary"),
    "did_you_mean": ("did_you_mean",),
    "sentence": ("sentence",),
    "dont_know": ("dont_know", "field_unknown", "year_unknown", "facet_unknown", "out_of_scope"),
}
LANGS = ("zh", "en")
# The replies to "a person, please": the service-centre route (WeChat, REST) and the widget's live handover.
HANDOFF_KINDS = ("handoff", "handover")


@dataclass
class HandoverNumbers:
    """The live handover now (the KB's handover tables, not the tracker store: a conversation with staff is not a
    bot reply): in the queue, being answered, taken since midnight town time, messages left and not yet done."""

    waiting: int = 0
    active: int = 0
    taken_today: int = 0
    messages_left: int = 0


@dataclass
class Dashboard:
    """The start page's numbers (the last DAYS days, in the town's time zone)."""

    days: list[tuple[date, int]]  # questions per day, oldest first, every day of the range
    hours: list[int]  # questions per hour of the day, 0..23
    outcomes: dict[str, int]  # OUTCOMES' keys
    handoffs: int  # "转人工" replies (the service-centre route and the widget's live handover)
    languages: dict[str, int]  # zh, en, and "" for messages without a language of their own
    topics: list[tuple[str, int, int]]  # (topic, 👍, 👎), most 👎 first
    top_unanswered: list[QuestionGroup] = field(default_factory=list)
    satisfaction: dict[str, int] = field(default_factory=dict)  # SATISFACTION_LEVELS' keys
    tracker_found: bool = True  # False: no tracker store yet (Rasa never ran), the tracker numbers are 0
    handover: HandoverNumbers = field(default_factory=HandoverNumbers)

    @property
    def questions(self) -> int:
        """Questions in the range."""
        return sum(n for _, n in self.days)


# ---------- the tracker store ----------


def tracker_indexes(engine: Engine) -> None:
    """Add the dashboard's index to Rasa's events table, once per database (idempotent)."""
    _indexed(engine.url.render_as_string(hide_password=False), engine)


@lru_cache(maxsize=8)
def _indexed(_url: str, engine: Engine) -> bool:
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"CREATE INDEX IF NOT EXISTS {TRACKER_INDEX} ON events (type_name, timestamp, intent_name)")
        )
    return True


def _offset(moment: datetime) -> int:
    """The town's UTC offset in seconds (Asia/Shanghai: +8 h, no daylight saving)."""
    offset = moment.astimezone(ZoneInfo(settings.ADMIN_TIMEZONE)).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def window(now: datetime | None = None, days: int = DAYS) -> tuple[datetime, list[date], int]:
    """The range's start (midnight of the first day, town time, as UTC), its days, and the town's offset."""
    now = now or datetime.now(timezone.utc)
    town = ZoneInfo(settings.ADMIN_TIMEZONE)
    today = now.astimezone(town).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=town).astimezone(timezone.utc)
    return start, [first + timedelta(days=n) for n in range(days)], _offset(now)


def _number(value: int) -> sa.ColumnElement[int]:
    """A whole number written into the SQL (the same GROUP BY text in every database, no bound parameter)."""
    return sa.literal_column(str(int(value)), sa.Integer)


def _local_seconds(offset: int) -> sa.ColumnElement[int]:
    """The event's time in whole seconds of the town's clock (integer arithmetic in SQLite and PostgreSQL)."""
    return sa.cast(EVENTS.c.timestamp, sa.Integer) + _number(offset)


def _json_text(connection: Connection, column: Any, *path: str) -> sa.ColumnElement[str]:
    """A text value inside a JSON column stored as text (SQLite's json_extract, PostgreSQL's #>>)."""
    if connection.dialect.name == "sqlite":
        return sa.func.json_extract(column, "$." + ".".join(path))
    return sa.cast(column, sa.JSON)[tuple(path)].as_string()


def questions_query(since: float, offset: int) -> sa.Select:
    """Questions per (day, hour) of the town's clock since a UTC timestamp: read from the index alone."""
    seconds = _local_seconds(offset)
    day = (seconds // _number(86400)).label("day")
    hour = (seconds % _number(86400) // _number(3600)).label("hour")
    return (
        sa.select(day, hour, sa.func.count().label("n"))
        .where(
            EVENTS.c.type_name == "user",
            EVENTS.c.timestamp >= since,
            sa.or_(EVENTS.c.intent_name.is_(None), EVENTS.c.intent_name.not_in(COURTESY_INTENTS)),
        )
        .group_by(sa.text("day"), sa.text("hour"))
    )


def kinds_query(connection: Connection, since: float) -> sa.Select:
    """The bot's replies per kind since a UTC timestamp."""
    kind = _json_text(connection, EVENTS.c.data, "data", "custom", "kind").label("kind")
    return (
        sa.select(kind, sa.func.count().label("n"))
        .where(EVENTS.c.type_name == "bot", EVENTS.c.timestamp >= since)
        .group_by(sa.text("kind"))
    )


def languages_query(connection: Connection, since: float) -> sa.Select:
    """Questions per language since a UTC timestamp (the NLU's `language` entity; none: no language of its own)."""
    lang = _json_text(connection, EVENTS.c.data, "parse_data", "entities[0]", "value").label("lang")
    if connection.dialect.name != "sqlite":
        lang = sa.cast(EVENTS.c.data, sa.JSON)[("parse_data", "entities", 0, "value")].as_string().label("lang")
    return (
        sa.select(lang, sa.func.count().label("n"))
        .where(
            EVENTS.c.type_name == "user",
            EVENTS.c.timestamp >= since,
            sa.or_(EVENTS.c.intent_name.is_(None), EVENTS.c.intent_name.not_in(COURTESY_INTENTS)),
        )
        .group_by(sa.text("lang"))
    )


@dataclass
class TrackerNumbers:
    """What the tracker store says about the range."""

    per_day: dict[int, int] = field(default_factory=dict)  # day number (town clock, days since 1970) -> questions
    per_hour: list[int] = field(default_factory=lambda: [0] * 24)
    kinds: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    found: bool = False


def tracker_numbers(engine: Engine | None, since: datetime, offset: int) -> TrackerNumbers:
    """Questions per day and hour, reply kinds and languages from the tracker store since `since`."""
    numbers = TrackerNumbers()
    if engine is None:
        return numbers
    tracker_indexes(engine)
    numbers.found = True
    start = since.timestamp()
    with engine.connect() as connection:
        for day, hour, n in connection.execute(questions_query(start, offset)):
            numbers.per_day[int(day)] = numbers.per_day.get(int(day), 0) + n
            numbers.per_hour[int(hour) % 24] += n
        numbers.kinds = {str(kind or ""): n for kind, n in connection.execute(kinds_query(connection, start))}
        for lang, n in connection.execute(languages_query(connection, start)):
            key = lang if lang in LANGS else ""
            numbers.languages[key] = numbers.languages.get(key, 0) + n
    return numbers


# ---------- the KB ----------


def thumbs_per_topic(session: Session, since: datetime) -> list[tuple[str, int, int]]:
    """(topic, 👍, 👎) of the feedback since `since`, most 👎 first; answers without an entry under ""."""
    topic = sa.func.coalesce(Entry.topic, "")
    rows = session.execute(
        sa.select(topic, Feedback.rating, sa.func.count(Feedback.id))
        .select_from(Feedback)
        .outerjoin(Entry, Entry.id == Feedback.entry_id)
        .where(Feedback.created_at >= since)
        .group_by(topic, Feedback.rating)
    ).all()
    counts: dict[str, list[int]] = {}
    for name, rating, n in rows:
        counts.setdefault(name, [0, 0])[0 if rating == "up" else 1] += n
    return sorted(((t, up, down) for t, (up, down) in counts.items()), key=lambda r: (-r[2], -r[1], r[0]))


def satisfaction_counts(session: Session, since: datetime) -> dict[str, int]:
    """Ratings per level since `since` (every level, 0 when none)."""
    rows = session.execute(
        sa.select(Satisfaction.level, sa.func.count(Satisfaction.id))
        .where(Satisfaction.created_at >= since)
        .group_by(Satisfaction.level)
    ).all()
    found: dict[str, int] = {level: n for level, n in rows}
    return {level: found.get(level, 0) for level in SATISFACTION_LEVELS}


def handover_numbers(session: Session, now: datetime | None = None) -> HandoverNumbers:
    """Waiting and active conversations now, those taken since midnight (town time), messages left to answer."""
    _, days, _ = window(now, 1)
    town = ZoneInfo(settings.ADMIN_TIMEZONE)
    midnight = datetime(days[0].year, days[0].month, days[0].day, tzinfo=town).astimezone(timezone.utc)
    rows = session.execute(
        sa.select(Handover.state, sa.func.count(Handover.id))
        .where(Handover.state.in_(("waiting", "active")))
        .group_by(Handover.state)
    ).all()
    states: dict[str, int] = {state: n for state, n in rows}
    taken = session.scalar(sa.select(sa.func.count(Handover.id)).where(Handover.taken_at >= midnight))
    left = session.scalar(sa.select(sa.func.count(ResidentMessage.id)).where(ResidentMessage.done_at.is_(None)))
    return HandoverNumbers(
        waiting=states.get("waiting", 0),
        active=states.get("active", 0),
        taken_today=taken or 0,
        messages_left=left or 0,
    )


def dashboard(session: Session, engine: Engine | None, now: datetime | None = None) -> Dashboard:
    """The start page's numbers; `engine` is the tracker store's (kb.retention.tracker_engine; None: there is none,
    or it cannot be read, and its numbers are 0)."""
    start, days, offset = window(now)
    numbers = tracker_numbers(engine, start, offset)
    epoch = date(1970, 1, 1)
    kinds = numbers.kinds
    return Dashboard(
        days=[(day, numbers.per_day.get((day - epoch).days, 0)) for day in days],
        hours=numbers.per_hour,
        outcomes={name: sum(kinds.get(k, 0) for k in members) for name, members in OUTCOMES.items()},
        handoffs=sum(kinds.get(kind, 0) for kind in HANDOFF_KINDS),
        languages={lang: numbers.languages.get(lang, 0) for lang in (*LANGS, "")},
        topics=thumbs_per_topic(session, start),
        top_unanswered=groups(session)[:8],
        satisfaction=satisfaction_counts(session, start),
        tracker_found=numbers.found,
        handover=handover_numbers(session, now),
    )


def csv_text(board: Dashboard, labels: dict[str, dict[str, str]]) -> str:
    """The dashboard's numbers as CSV (UTF-8 with BOM, so spreadsheets read the Chinese): section, item, value.

    `labels` names the items of each section (topics, outcomes, languages, levels) in the admin's words.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "item", "value"])

    def rows(section: str, items: Iterable[tuple[Any, Any]]) -> None:
        names = labels.get(section, {})
        for item, value in items:
            writer.writerow([section, names.get(str(item), str(item)), value])

    rows("questions_per_day", ((day.isoformat(), n) for day, n in board.days))
    rows("outcome", board.outcomes.items())
    rows("outcome", [("handoff", board.handoffs)])
    rows("thumbs_up", ((topic, up) for topic, up, _ in board.topics))
    rows("thumbs_down", ((topic, down) for topic, _, down in board.topics))
    rows("top_unanswered", ((g.lead.text, g.count) for g in board.top_unanswered))
    rows("language", board.languages.items())
    rows("hour", ((f"{hour:02d}:00", n) for hour, n in enumerate(board.hours)))
    rows("satisfaction", board.satisfaction.items())
    rows("handover", vars(board.handover).items())
    return "\ufeff" + out.getvalue()


# ---------- what to fill first ----------


@dataclass
class Gap:
    """A staff field of an entry that residents asked for and nobody filled yet."""

    entry: Entry
    field: str
    count: int
    last_seen: datetime


def fill_first(session: Session, limit: int | None = None) -> list[Gap]:
    """Entry × staff field, most asked first, only those still empty (in both languages), entries in use; at equal
    counts the contact entry's first (every resident the bot cannot help is sent there), then the latest asked."""
    contact = session.scalar(sa.select(KbState.contact_entry).where(KbState.id == 1))
    rows = session.execute(
        sa.select(FieldGap, Entry)
        .join(Entry, Entry.id == FieldGap.entry_id)
        .where(Entry.retired.is_(False))
        .order_by(FieldGap.count.desc(), (Entry.id == contact).desc(), FieldGap.last_seen.desc(), FieldGap.id)
    ).all()
    gaps = [
        Gap(entry, gap.field, gap.count, gap.last_seen) for gap, entry in rows if not entry.staff_field(gap.field, "zh")
    ]
    return gaps[:limit] if limit else gaps
