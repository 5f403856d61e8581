"""Bad ratings (不满意, 非常不满意) on the staff's follow-up list with their conversation and a due date 15 working
days on; an editor marks one followed up with a note (who, when, what); the good ratings are only counted."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import settings
from kb.db import session_factory
from kb.models import Satisfaction
from kb.satisfaction import due_date
from tests.tracker_events import Message, insert

UNHAPPY = "unhappy-resident-0001"


@pytest.fixture
def ratings(kb_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Three ratings (one 不满意 with its conversation in a tracker store); their ids by level."""
    tracker = tmp_path / "tracker.db"
    monkeypatch.setattr(settings, "TRACKER_DATABASE_URL", f"sqlite:///{tracker}")
    import sqlalchemy as sa

    insert(sa.create_engine(f"sqlite:///{tracker}"), [Message(UNHAPPY, 1_790_000_000.0, "服务中心几点开门?")])
    with session_factory(kb_url)() as session, session.begin():
        rows = [
            Satisfaction(session=UNHAPPY, level="dissatisfied", occasion="end", lang="zh"),
            Satisfaction(session="happy-resident-0001", level="very_satisfied", occasion="end", lang="zh"),
            Satisfaction(session="cross-resident-0001", level="very_dissatisfied", occasion="handoff", lang="en"),
        ]
        session.add_all(rows)
        session.flush()
        return {row.level: row.id for row in rows}


def test_fifteen_working_days_skip_the_weekends():
    friday_noon = datetime(2026, 12, 4, 4, 0, tzinfo=timezone.utc)  # 12:00 in Zhitang
    assert due_date(friday_noon) == date(2026, 12, 25)  # three weeks of five working days
    sunday_night = datetime(2026, 12, 6, 15, 30, tzinfo=timezone.utc)  # 23:30 on Sunday in Zhitang
    assert due_date(sunday_night) == date(2026, 12, 25)


def test_only_bad_ratings_are_listed_with_their_due_date(signed_in, ratings):
    page = signed_in("li").get("/admin/satisfaction").text
    assert "不满意 Dissatisfied" in page and "非常不满意 Very dissatisfied" in page
    assert page.count("查看对话并回访") == 2  # the very satisfied one is only counted
    with session_factory(settings.KB_DATABASE_URL)() as session:
        rated = session.get(Satisfaction, ratings["dissatisfied"]).created_at
    assert due_date(rated).isoformat() in page


def test_a_bad_rating_shows_its_conversation(signed_in, ratings):
    page = signed_in("li").get(f"/admin/satisfaction/{ratings['dissatisfied']}").text
    assert "服务中心几点开门?" in page  # what the resident asked
    assert "支塘镇发放尊老金" in page  # and what the bot replied
    assert 'id="follow-up-form"' not in page  # a viewer reads, does not follow up


def test_an_editor_marks_it_followed_up_with_a_note_kept_with_who_and_when(signed_in, ratings):
    wang = signed_in("wang")
    path = f"/admin/satisfaction/{ratings['dissatisfied']}"
    assert wang.post(path, {"note": ""}, token_from=path).status_code == 400  # a note is needed
    response = wang.post(path, {"note": "已电话回访居民 13912345678,告知开门时间。"}, token_from=path)
    assert response.status_code == 303
    with session_factory(settings.KB_DATABASE_URL)() as session:
        row = session.get(Satisfaction, ratings["dissatisfied"])
        assert row.followed_up_by == "wang" and row.followed_up_at is not None
        assert "139****5678" in row.follow_up_note and "13912345678" not in row.follow_up_note
    assert wang.get("/admin/satisfaction").text.count("查看对话并回访") == 1  # off the list
    assert "已电话回访居民" in wang.get("/admin/satisfaction?done=1").text
    assert wang.post(path, {"note": "again"}, token_from=path).status_code == 400  # once


def test_a_viewer_cannot_mark_a_follow_up(signed_in, ratings):
    li = signed_in("li")
    path = f"/admin/satisfaction/{ratings['very_dissatisfied']}"
    assert li.post(path, {"note": "done"}, token_from=path).status_code == 403
    with session_factory(settings.KB_DATABASE_URL)() as session:
        assert (
            session.scalar(select(Satisfaction.followed_up_at).where(Satisfaction.id == ratings["very_dissatisfied"]))
            is None
        )
