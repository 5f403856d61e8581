"""Retention and deletion of what residents wrote (PIPL Art. 19 and 47).

Residents' words are kept in three places, all deleted here:

- Rasa's tracker store, table `events` (every message and reply of every conversation; the `sender_id` is the
  widget's session id): SQLite `var/tracker.db` locally, the PostgreSQL database of the tracker store when scaled
  out. Its URL: settings.TRACKER_DATABASE_URL, else the SQL tracker store endpoints.yml names.
- the KB's `feedback` table (👍/👎 with the question and the answer, by session) and `satisfaction` table (the
  5-level rating of a conversation, by session; counted with the feedback here);
- the KB's `unanswered_question` table (questions the bot could not answer, counted, without a session);
- the KB's live-handover tables (kb/handover.py): the conversation with town staff, and the messages left for them
  (留言) with their callback numbers, by session and `created_at`.

`purge()` deletes everything older than settings.RETENTION_DAYS: tracker events by their timestamp, feedback by
`created_at`, unanswered questions by `last_seen` (a question asked again within the retention stays). It deletes
with plain `DELETE ... WHERE <time> < cutoff` statements in small batches, so it is idempotent and safe to run from
several gateways at once, and never holds the tracker database's write lock for long (Rasa writes there on every
message). The web app runs it itself (bot/web/gateway/forget.py), `make purge` / `python -m kb purge` by hand.

`forget()` deletes one conversation (the widget's "delete my conversation", POST /api/forget): its tracker events,
its feedback, and it takes its questions off the unanswered list (their count goes down by what this conversation
asked; a question nobody else asked is deleted). `delete_session()` is the same done by a staff member, with an
audit line (kb.models.SessionDeletion: who, which session, when, how much; nothing the resident wrote).

Rasa's own process: deleting rows from outside is safe for both tracker stores. Rasa's SQLTrackerStore (scaled
out) reads the database at every message, so it sees the deletion at once. Locally, PooledSQLTrackerStore
(bot/rasa_ext/tracker_store.py) keeps a write-through copy of recent conversations in memory: after a deletion
that copy still holds the rows until the conversation leaves the cache (1,000 most recent conversations) or Rasa
restarts. It never writes them back: a save appends only the events that follow the copy, so the database does
not get the deleted rows again. The widget starts a new conversation (a new session id) after a deletion, so the
forgotten conversation is never continued; a purged conversation is older than the retention, so it is in the
copy only if Rasa has run since then and the resident comes back to it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import URL, CursorResult, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot import settings
from kb import handover
from kb.db import session_factory
from kb.models import Feedback, FieldGap, Satisfaction, SessionDeletion, UnansweredQuestion

logger = logging.getLogger(__name__)

BATCH = 5_000  # tracker events deleted per transaction: Rasa's writes wait for at most one batch
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")  # the widget's session ids (as bot/web/gateway/validation.py)
MAX_QUESTION = 500  # what kb.queries.record_unanswered keeps of a question
# Rasa's SQLTrackerStore.SQLEvent: only the columns read here and in kb.stats (the table is Rasa's; nothing here
# creates it, kb.stats adds an index).
EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("intent_name", sa.String),
    sa.column("data", sa.Text),
)


class RetentionError(ValueError):
    """A retention setting or a session id that cannot be used."""


@dataclass
class PurgeReport:
    """What one purge deleted."""

    days: int
    cutoff: datetime
    events: int = 0
    feedback: int = 0
    questions: int = 0
    handover: int = 0

    def __str__(self) -> str:
        return (
            f"deleted what is older than {self.days} days (before {self.cutoff:%Y-%m-%d %H:%M} UTC): "
            f"{self.events} conversation events, {self.feedback} feedback, {self.questions} unanswered questions, "
            f"{self.handover} handover rows and messages left"
        )


@dataclass
class Forgotten:
    """What deleting one conversation deleted."""

    events: int = 0
    feedback: int = 0
    questions: int = 0
    handover: int = 0  # handover rows, their events and messages left for staff

    def counts(self) -> dict[str, int]:
        return {
            "events": self.events,
            "feedback": self.feedback,
            "questions": self.questions,
            "handover": self.handover,
        }


@dataclass
class Conversation:
    """One conversation in the tracker store, as the admin lists it."""

    session: str
    started: datetime
    last: datetime
    messages: int  # the resident's messages
    first_question: str  # the first thing the resident typed (masked by the gateway), shortened


# ---------- where the conversations are ----------


def _expand(value: Any) -> Any:
    """${VAR} in an endpoints.yml value, as Rasa expands it."""
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: os.environ.get(m.group(1), ""), value)
    return value


def tracker_url_from_endpoints(path: Path) -> str | None:
    """The SQLAlchemy URL of the SQL tracker store an endpoints.yml names (None: no SQL tracker store there)."""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError:
        return None
    store = {key: _expand(value) for key, value in (config.get("tracker_store") or {}).items()}
    kind = str(store.get("type", "")).lower()
    if kind != "sql" and not kind.endswith("sqltrackerstore"):
        return None
    dialect = str(store.get("dialect") or "sqlite")
    db = str(store.get("db") or "rasa.db")
    if dialect == "sqlite":
        file = Path(db)
        return f"sqlite:///{file if file.is_absolute() else settings.ROOT / file}"
    driver = "postgresql+psycopg" if dialect in ("postgresql", "postgres") else dialect
    url = URL.create(
        driver,
        username=store.get("username"),
        password=store.get("password"),
        host=store.get("url"),
        port=int(store["port"]) if store.get("port") else None,
        database=db,
    )
    return url.render_as_string(hide_password=False)


def tracker_database_url() -> str | None:
    """settings.TRACKER_DATABASE_URL, else the tracker store of the project's endpoints.yml."""
    return settings.TRACKER_DATABASE_URL or tracker_url_from_endpoints(settings.ROOT / "endpoints.yml")


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        # Rasa holds the write lock for one message at a time: wait for it rather than fail.
        return sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def tracker_engine(url: str | None = None) -> Engine | None:
    """An engine on the tracker database; None while there is none yet (Rasa never ran: nothing to delete).

    A SQLite file that does not exist is not created.
    """
    url = url or tracker_database_url()
    if not url:
        return None
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not (parsed.database and Path(parsed.database).is_file()):
        return None
    engine = _engine(url)
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("events"):
            return None
    return engine


# ---------- retention ----------


def retention_days(days: int | None = None) -> int:
    """The retention in days (settings.RETENTION_DAYS by default); at least one day."""
    days = settings.RETENTION_DAYS if days is None else days
    if days < 1:
        raise RetentionError(f"ZHITANG_RETENTION_DAYS must be at least 1 (days), not {days}")
    return days


def _deleted(session: Session, statement: sa.Delete) -> int:
    """Run a DELETE in the session; how many rows it deleted."""
    result = session.execute(statement)
    return result.rowcount if isinstance(result, CursorResult) else 0


def _delete_events(engine: Engine, condition: Any) -> int:
    """Delete the tracker events matching `condition`, BATCH at a time, until none is left; how many."""
    total = 0
    while True:
        with engine.begin() as connection:
            batch = sa.select(EVENTS.c.id).where(condition).order_by(EVENTS.c.id).limit(BATCH)
            deleted = connection.execute(sa.delete(EVENTS).where(EVENTS.c.id.in_(batch))).rowcount
        total += deleted
        if deleted == 0:
            return total


def purge(
    days: int | None = None,
    *,
    now: datetime | None = None,
    kb_url: str | None = None,
    tracker_url: str | None = None,
) -> PurgeReport:
    """Delete residents' conversations, feedback and unanswered questions older than the retention."""
    days = retention_days(days)
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    report = PurgeReport(days, cutoff)
    with session_factory(kb_url)() as session, session.begin():
        report.feedback = _deleted(session, sa.delete(Feedback).where(Feedback.created_at < cutoff))
        report.feedback += _deleted(session, sa.delete(Satisfaction).where(Satisfaction.created_at < cutoff))
        report.questions = _deleted(session, sa.delete(UnansweredQuestion).where(UnansweredQuestion.last_seen < cutoff))
        _deleted(session, sa.delete(FieldGap).where(FieldGap.last_seen < cutoff))  # counts only, none asked since
        report.handover = handover.purge_before(session, cutoff)
    engine = tracker_engine(tracker_url)
    if engine is not None:
        report.events = _delete_events(engine, EVENTS.c.timestamp < cutoff.timestamp())
    return report


# ---------- one conversation ----------


def check_session_id(session_id: object) -> str:
    """A widget session id (8-64 letters, digits, '-' or '_'), else RetentionError."""
    if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
        raise RetentionError("not a conversation id / 会话编号无效")
    return session_id


def _user_texts(engine: Engine, session_id: str) -> list[str]:
    """What the resident typed in a conversation (button payloads left out)."""
    with engine.connect() as connection:
        rows = connection.scalars(
            sa.select(EVENTS.c.data).where(EVENTS.c.sender_id == session_id, EVENTS.c.type_name == "user")
        ).all()
    texts = []
    for data in rows:
        try:
            text = json.loads(data or "{}").get("text")
        except (ValueError, AttributeError):
            continue
        if isinstance(text, str) and text.strip() and not text.startswith("/"):
            texts.append(text)
    return texts


def transcript(session_id: str, tracker_url: str | None = None, limit: int = 200) -> list[tuple[str, str, datetime]]:
    """A conversation as staff read it: (who: "user" or "bot", text, when), in order; button payloads left out.

    The texts are as stored: the gateway and Rasa's channel masked the resident's personal numbers before."""
    session_id = check_session_id(session_id)
    engine = tracker_engine(tracker_url)
    if engine is None:
        return []
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(EVENTS.c.type_name, EVENTS.c.data)
            .where(EVENTS.c.sender_id == session_id, EVENTS.c.type_name.in_(("user", "bot")))
            .order_by(EVENTS.c.id)
            .limit(limit)
        ).all()
    lines = []
    for kind, data in rows:
        try:
            event = json.loads(data or "{}")
        except ValueError:
            continue
        text = event.get("text") if isinstance(event, dict) else None
        if isinstance(text, str) and text.strip() and not text.startswith("/"):
            lines.append((kind, text, _when(event.get("timestamp"))))
    return lines


def _uncount_questions(session: Session, texts: Iterable[str]) -> int:
    """Take a conversation's questions off the unanswered list: each count goes down by the times it was asked
    there; a question left with no count is deleted. How many questions were touched."""
    touched = 0
    for text, times in Counter(t.strip()[:MAX_QUESTION] for t in texts).items():
        row = session.scalar(sa.select(UnansweredQuestion).where(UnansweredQuestion.text == text))
        if row is None:
            continue
        touched += 1
        row.count -= times
        if row.count <= 0:
            session.delete(row)
    return touched


def forget(
    session_id: str,
    *,
    deleted_by: str | None = None,
    kb_url: str | None = None,
    tracker_url: str | None = None,
    kb_sessions: sessionmaker[Session] | None = None,
) -> Forgotten:
    """Delete one conversation: tracker events, feedback, its unanswered questions; with `deleted_by` (a staff
    member) also write the audit line. The KB's changes are committed only once the tracker's are.

    The KB is `kb_sessions` (the admin's), else the database at `kb_url`, else the configured one.
    """
    session_id = check_session_id(session_id)
    engine = tracker_engine(tracker_url)
    texts = _user_texts(engine, session_id) if engine is not None else []
    result = Forgotten()
    with (kb_sessions or session_factory(kb_url))() as session, session.begin():
        result.feedback = _deleted(session, sa.delete(Feedback).where(Feedback.session == session_id))
        result.feedback += _deleted(session, sa.delete(Satisfaction).where(Satisfaction.session == session_id))
        result.questions = _uncount_questions(session, texts)
        result.handover = handover.forget_session(session, session_id)
        session.flush()
        if engine is not None:
            result.events = _delete_events(engine, EVENTS.c.sender_id == session_id)
        if deleted_by:
            counts = {"events": result.events, "feedback": result.feedback, "questions": result.questions}
            session.add(SessionDeletion(session=session_id, deleted_by=deleted_by, **counts))
    return result


def delete_session(
    session_id: str,
    user: str,
    *,
    kb_url: str | None = None,
    tracker_url: str | None = None,
    kb_sessions: sessionmaker[Session] | None = None,
) -> Forgotten:
    """A staff member deletes one resident's conversation; the audit line names them."""
    if not user:
        raise RetentionError("who deletes must be known / 须注明删除人")
    return forget(session_id, deleted_by=user, kb_url=kb_url, tracker_url=tracker_url, kb_sessions=kb_sessions)


def deletions(session: Session, limit: int = 50) -> list[SessionDeletion]:
    """The latest audit lines, newest first."""
    return list(session.scalars(sa.select(SessionDeletion).order_by(SessionDeletion.id.desc()).limit(limit)))


# ---------- the admin's list ----------


def _like(text: str) -> str:
    """`text` as a LIKE pattern's literal part (escape character "!")."""
    return re.sub(r"([!%_])", r"!\1", text)


def _when(timestamp: float | None) -> datetime:
    return datetime.fromtimestamp(timestamp or 0, timezone.utc)


def conversations(search: str = "", limit: int = 50, tracker_url: str | None = None) -> list[Conversation]:
    """The latest conversations, newest first; `search` finds a session id by its start or the resident's words."""
    engine = tracker_engine(tracker_url)
    if engine is None:
        return []
    user = sa.case((EVENTS.c.type_name == "user", 1), else_=0)
    query = sa.select(
        EVENTS.c.sender_id,
        sa.func.min(EVENTS.c.timestamp),
        sa.func.max(EVENTS.c.timestamp),
        sa.func.sum(user),
    )
    search = search.strip()[:200]
    if search:
        words = {json.dumps(search)[1:-1], search}  # Rasa stores JSON with \\u escapes for Chinese
        found = sa.select(EVENTS.c.sender_id).where(
            sa.or_(
                EVENTS.c.sender_id.like(_like(search) + "%", escape="!"),
                sa.and_(
                    EVENTS.c.type_name == "user",
                    sa.or_(*(EVENTS.c.data.like(f"%{_like(w)}%", escape="!") for w in words)),
                ),
            )
        )
        query = query.where(EVENTS.c.sender_id.in_(found))
    query = query.group_by(EVENTS.c.sender_id).order_by(sa.func.max(EVENTS.c.timestamp).desc()).limit(limit)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    found_ids = [row[0] for row in rows]
    first: dict[str, str] = {}
    for session_id in found_ids:
        texts = _user_texts(engine, session_id)
        first[session_id] = texts[0][:80] + ("…" if len(texts[0]) > 80 else "") if texts else ""
    return [
        Conversation(sender, _when(start), _when(last), int(messages or 0), first.get(sender, ""))
        for sender, start, last, messages in rows
    ]
