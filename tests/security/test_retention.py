"""Retention (PIPL Art. 19, 47): residents' conversations, feedback and unanswered questions are deleted once
they are older than ZHITANG_RETENTION_DAYS (default 180), by `make purge`, `python -m kb purge` and the web app
itself; recent ones are kept.

The tracker database here is made with the same `events` table Rasa's SQL tracker store creates (SQLite locally,
PostgreSQL when scaled out); test_forget.py imports its helpers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import settings
from kb.db import create_schema, session_factory
from kb.models import Feedback, UnansweredQuestion

ROOT = Path(__file__).resolve().parent.parent.parent
NOW = datetime.now(timezone.utc)
OLD = NOW - timedelta(days=181)  # one day past the default retention of 180 days
RECENT = NOW - timedelta(days=179)

from tests.trackers import EVENTS, EVENTS_METADATA  # noqa: E402


def add_conversation(url: str, sender: str, when: datetime, *questions: str) -> None:
    """A conversation as Rasa stores it: session start, then each question (user event) and its answer."""
    ts = when.timestamp()
    rows = [
        {"type_name": "action", "action_name": "action_session_start", "data": {"event": "action"}},
        {"type_name": "session_started", "data": {"event": "session_started"}},
    ]
    for question in questions:
        rows.append({"type_name": "user", "intent_name": "ask", "data": {"event": "user", "text": question}})
        rows.append({"type_name": "bot", "data": {"event": "bot", "text": f"answer to {question}"}})
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for i, row in enumerate(rows):
            data = {**row["data"], "timestamp": ts + i}
            connection.execute(  # json.dumps as Rasa does: Chinese stored as \\u escapes
                EVENTS.insert().values(
                    sender_id=sender,
                    type_name=row["type_name"],
                    timestamp=ts + i,
                    intent_name=row.get("intent_name"),
                    action_name=row.get("action_name"),
                    data=json.dumps(data),
                )
            )
    engine.dispose()


def senders(url: str) -> dict[str, int]:
    """How many events each conversation has in the tracker database."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(EVENTS.c.sender_id, sa.func.count()).group_by(EVENTS.c.sender_id)).all()
    engine.dispose()
    return {sender: n for sender, n in rows}


def add_feedback(kb_url: str, session: str, when: datetime, question: str = "尊老金发了多少?") -> None:
    """A resident's 👎 on an answer, stored at `when`."""
    with session_factory(kb_url)() as db, db.begin():
        db.add(Feedback(session=session, rating="down", question=question, answer="…", created_at=when))


def add_question(kb_url: str, text: str, last_seen: datetime, count: int = 1) -> None:
    """A question the bot could not answer, last asked at `last_seen`."""
    with session_factory(kb_url)() as db, db.begin():
        db.add(UnansweredQuestion(text=text, lang="zh", count=count, first_seen=last_seen, last_seen=last_seen))


def feedback_sessions(kb_url: str) -> list[str]:
    with session_factory(kb_url)() as db:
        return sorted(db.scalars(sa.select(Feedback.session)))


def question_counts(kb_url: str) -> dict[str, int]:
    with session_factory(kb_url)() as db:
        return {q.text: q.count for q in db.scalars(sa.select(UnansweredQuestion))}


@pytest.fixture
def tracker_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty tracker database with Rasa's `events` table; the gateway and the purge are pointed at it."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = sa.create_engine(url)
    EVENTS_METADATA.create_all(engine)
    engine.dispose()
    monkeypatch.setattr(settings, "TRACKER_DATABASE_URL", url, raising=False)
    return url


@pytest.fixture
def kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty, migrated KB database (feedback and unanswered questions live there)."""
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    monkeypatch.setattr(settings, "KB_DATABASE_URL", url)
    create_schema(url)
    return url


@pytest.fixture
def old_and_recent(kb: str, tracker_url: str) -> tuple[str, str]:
    """One conversation (with feedback and an unanswered question) from before the retention, one from within."""
    add_conversation(tracker_url, "old-session-0001", OLD, "我的手机号138****5678,尊老金发了多少?")
    add_conversation(tracker_url, "recent-session-0001", RECENT, "医保报销了多少人次?")
    add_feedback(kb, "old-session-0001", OLD)
    add_feedback(kb, "recent-session-0001", RECENT)
    add_question(kb, "旧的问题", OLD)
    add_question(kb, "新的问题", RECENT)
    return kb, tracker_url


def cli_env(kb: str, tracker_url: str, **extra: str) -> dict[str, str]:
    """The environment of `python -m kb purge` / `make purge` on the test databases."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZHITANG_KB_DATABASE_URL": kb}
    env["ZHITANG_TRACKER_DATABASE_URL"] = tracker_url
    env.pop("ZHITANG_RETENTION_DAYS", None)
    return {**env, **extra}


def test_purge_deletes_conversations_older_than_the_retention_and_keeps_recent_ones(old_and_recent):
    from kb.retention import purge

    kb, tracker_url = old_and_recent
    report = purge()
    assert senders(tracker_url) == {"recent-session-0001": 4}
    assert report.events == 4


def test_purge_deletes_old_feedback_and_unanswered_questions_and_keeps_recent_ones(old_and_recent):
    from kb.retention import purge

    kb, _ = old_and_recent
    report = purge()
    assert feedback_sessions(kb) == ["recent-session-0001"]
    assert question_counts(kb) == {"新的问题": 1}
    assert (report.feedback, report.questions) == (1, 1)


def test_an_unanswered_question_asked_again_recently_is_kept(kb, tracker_url):
    from kb.retention import purge

    add_question(kb, "还在问的问题", RECENT, count=5)  # first asked long ago, last asked within the retention
    with session_factory(kb)() as db, db.begin():
        db.scalars(sa.select(UnansweredQuestion)).one().first_seen = OLD
    purge()
    assert question_counts(kb) == {"还在问的问题": 5}


def test_a_shorter_retention_deletes_more(old_and_recent):
    from kb.retention import purge

    kb, tracker_url = old_and_recent
    purge(days=30)
    assert senders(tracker_url) == {}
    assert feedback_sessions(kb) == [] and question_counts(kb) == {}


def test_purging_twice_changes_nothing_more(old_and_recent):
    """Several gateways purge on their own: a second run (or a concurrent one) finds nothing left to delete."""
    from kb.retention import purge

    kb, tracker_url = old_and_recent
    purge()
    again = purge()
    assert (again.events, again.feedback, again.questions) == (0, 0, 0)
    assert senders(tracker_url) == {"recent-session-0001": 4}


def test_purge_deletes_a_long_conversation_in_batches(kb, tracker_url, monkeypatch):
    from kb import retention

    monkeypatch.setattr(retention, "BATCH", 7)
    add_conversation(tracker_url, "old-session-0002", OLD, *[f"问题{i}" for i in range(20)])
    assert retention.purge().events == 42
    assert senders(tracker_url) == {}


def test_purge_before_rasa_ever_ran_creates_no_tracker_database(kb, tmp_path, monkeypatch):
    from kb.retention import purge

    missing = tmp_path / "not-yet" / "tracker.db"
    monkeypatch.setattr(settings, "TRACKER_DATABASE_URL", f"sqlite:///{missing}", raising=False)
    assert purge().events == 0
    assert not missing.exists() and not missing.parent.exists()


def test_a_retention_below_one_day_is_refused(kb, tracker_url):
    from kb.retention import RetentionError, purge

    with pytest.raises(RetentionError, match="ZHITANG_RETENTION_DAYS"):
        purge(days=0)


def test_the_tracker_database_is_the_one_endpoints_yml_names(tmp_path):
    """Locally endpoints.yml names a SQLite file (relative to the project); scaled out, PostgreSQL."""
    from kb.retention import tracker_url_from_endpoints

    local = tmp_path / "endpoints.yml"
    local.write_text(
        'tracker_store:\n  type: bot.rasa_ext.tracker_store.PooledSQLTrackerStore\n  dialect: "sqlite"\n'
        '  db: "var/tracker.db"\n',
        encoding="utf-8",
    )
    assert tracker_url_from_endpoints(local) == f"sqlite:///{ROOT / 'var' / 'tracker.db'}"
    scaled = tmp_path / "endpoints-rasa1.yml"
    scaled.write_text(
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n  port: 5433\n"
        "  db: zhitang_tracker\n  username: zhitang\n  password: secret\n",
        encoding="utf-8",
    )
    url = sa.engine.make_url(tracker_url_from_endpoints(scaled))
    assert (url.get_backend_name(), url.host, url.port, url.database) == (
        "postgresql",
        "127.0.0.1",
        5433,
        "zhitang_tracker",
    )
    assert (url.username, url.password) == ("zhitang", "secret")
    (tmp_path / "none.yml").write_text("action_endpoint:\n  url: http://x\n", encoding="utf-8")
    assert tracker_url_from_endpoints(tmp_path / "none.yml") is None  # in-memory tracker store: nothing kept


def test_python_m_kb_purge_exits_0_and_says_what_it_deleted(old_and_recent):
    kb, tracker_url = old_and_recent
    done = subprocess.run(
        [sys.executable, "-m", "kb", "purge"], cwd=ROOT, env=cli_env(kb, tracker_url), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "180" in done.stdout and "4" in done.stdout
    assert senders(tracker_url) == {"recent-session-0001": 4}


def test_the_retention_is_set_by_zhitang_retention_days(old_and_recent):
    kb, tracker_url = old_and_recent
    env = cli_env(kb, tracker_url, ZHITANG_RETENTION_DAYS="30")
    done = subprocess.run([sys.executable, "-m", "kb", "purge"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert senders(tracker_url) == {} and feedback_sessions(kb) == []


def test_make_purge_exits_0(old_and_recent):
    kb, tracker_url = old_and_recent
    done = subprocess.run(["make", "purge"], cwd=ROOT, env=cli_env(kb, tracker_url), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert senders(tracker_url) == {"recent-session-0001": 4}
    help_text = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "make purge" in help_text


@pytest.fixture
def app_client(old_and_recent, monkeypatch) -> Iterator[object]:
    """The web app with its lifespan running (as uvicorn runs it), purging at once."""
    from bot.web.gateway import forget

    monkeypatch.setattr(forget, "FIRST_PURGE_AFTER", 0.0)
    from bot.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    with TestClient(create_app()) as client:
        yield client


def test_the_web_app_purges_by_itself_when_it_starts(app_client, old_and_recent):
    kb, tracker_url = old_and_recent
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "old-session-0001" in senders(tracker_url):
        time.sleep(0.1)
    assert senders(tracker_url) == {"recent-session-0001": 4}
    assert feedback_sessions(kb) == ["recent-session-0001"]
