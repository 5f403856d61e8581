"""Staff delete one resident's conversation (a request by phone or at the counter, PIPL Art. 47): the
conversations screen finds it, an editor deletes it (tracker events, feedback), and an audit line says who deleted
which conversation when. Viewers may look but not delete."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import settings
from kb.db import session_factory
from kb.models import Feedback

MINE = "a1b2c3d4e5f6a7b8"
THEIRS = "f0e1d2c3b4a59687"

from tests.trackers import EVENTS, EVENTS_METADATA  # noqa: E402


def _senders(url: str) -> set[str]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        found = set(connection.scalars(sa.select(EVENTS.c.sender_id).distinct()))
    engine.dispose()
    return found


@pytest.fixture
def tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb_url: str) -> str:
    """A tracker database with two residents' conversations; MINE also left a 👎."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = sa.create_engine(url)
    EVENTS_METADATA.create_all(engine)
    start = (datetime.now(timezone.utc) - timedelta(hours=2)).timestamp()
    with engine.begin() as connection:
        for sender, question in ((MINE, "我家老人的尊老金怎么领?"), (THEIRS, "医保报销了多少人次?")):
            for i, (kind, data) in enumerate(
                [
                    ("session_started", {"event": "session_started"}),
                    ("user", {"event": "user", "text": question}),
                    ("bot", {"event": "bot", "text": "……"}),
                ]
            ):
                connection.execute(
                    EVENTS.insert().values(
                        sender_id=sender,
                        type_name=kind,
                        timestamp=start + i,
                        data=json.dumps({**data, "timestamp": start + i}),
                    )
                )
    engine.dispose()
    monkeypatch.setattr(settings, "TRACKER_DATABASE_URL", url, raising=False)
    with session_factory(kb_url)() as session, session.begin():
        session.add(Feedback(session=MINE, rating="down", question="我家老人的尊老金怎么领?", answer="……"))
    return url


def _audit(kb_url: str) -> list[tuple[str, str, datetime]]:
    from kb.models import SessionDeletion

    with session_factory(kb_url)() as session:
        rows = session.scalars(sa.select(SessionDeletion).order_by(SessionDeletion.id)).all()
        return [(row.session, row.deleted_by, row.deleted_at) for row in rows]


def test_an_editor_deletes_one_conversation_and_the_audit_says_who_which_and_when(signed_in, tracker, kb_url):
    wang = signed_in("wang")
    listing = wang.get("/admin/conversations")
    assert listing.status_code == 200
    assert MINE in listing.text and THEIRS in listing.text
    assert "我家老人的尊老金怎么领" in listing.text  # enough to recognise it when a resident asks

    confirm = wang.get(f"/admin/conversations/delete/{MINE}")
    assert confirm.status_code == 200 and MINE in confirm.text
    before = datetime.now(timezone.utc)
    done = wang.post(f"/admin/conversations/delete/{MINE}", token_from="/admin/conversations")
    assert done.status_code == 303, done.text

    assert _senders(tracker) == {THEIRS}
    with session_factory(kb_url)() as session:
        assert session.scalars(sa.select(Feedback).where(Feedback.session == MINE)).all() == []
    [(session_id, who, when)] = _audit(kb_url)
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    assert (session_id, who) == (MINE, "wang")
    assert before - timedelta(seconds=5) <= when <= datetime.now(timezone.utc) + timedelta(seconds=5)

    after = wang.get(done.headers["location"]).text
    assert "wang" in after and MINE in after  # the audit line shows on the screen
    assert "我家老人的尊老金怎么领" not in after


def test_staff_find_a_conversation_by_its_words_or_its_id(signed_in, tracker):
    wang = signed_in("wang")
    by_words = wang.get("/admin/conversations", params={"q": "尊老金"}).text
    assert MINE in by_words and THEIRS not in by_words
    by_id = wang.get("/admin/conversations", params={"q": THEIRS[:8]}).text
    assert THEIRS in by_id and MINE not in by_id


def test_a_viewer_may_look_but_not_delete(signed_in, tracker, kb_url):
    li = signed_in("li")
    assert li.get("/admin/conversations").status_code == 200
    refused = li.post(f"/admin/conversations/delete/{MINE}", token_from="/admin/conversations")
    assert refused.status_code == 403
    assert _senders(tracker) == {MINE, THEIRS} and _audit(kb_url) == []


def test_signed_out_nobody_sees_or_deletes_conversations(client, tracker):
    assert client.get("/admin/conversations").status_code in (302, 303)
    response = client.post(f"/admin/conversations/delete/{MINE}")
    assert response.status_code in (302, 303, 403)
    assert _senders(tracker) == {MINE, THEIRS}


@pytest.mark.parametrize("bad", ["short", "a' OR 1=1 --aaaaaa", "%25%25%25%25%25%25%25%25"])
def test_a_malformed_session_id_is_refused_and_nothing_is_deleted(signed_in, tracker, kb_url, bad):
    wang = signed_in("wang")
    assert wang.get(f"/admin/conversations/delete/{bad}").status_code == 400
    assert wang.post(f"/admin/conversations/delete/{bad}", token_from="/admin/conversations").status_code == 400
    assert _senders(tracker) == {MINE, THEIRS} and _audit(kb_url) == []
