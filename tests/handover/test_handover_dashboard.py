"""The start page's live-handover numbers come from the KB's handover tables (not from the bot's replies): the
conversations waiting now, being answered now, taken since midnight, and the messages left that nobody has
dealt with; the count of "a person, please" replies includes the widget's live handover."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import settings
from kb import handover as desk
from kb import stats
from kb.db import session_factory
from kb.models import Handover
from tests.handover.conftest import ASK_FOR_PERSON
from tests.tracker_events import Message, insert


def ask_for_a_person(resident, session: str) -> int:
    response = resident.post("/api/chat", json={"session": session, "text": ASK_FOR_PERSON, "lang": "zh"})
    assert response.status_code == 200, response.text
    return response.json()["handover"]["id"]


def stat(page: str, name: str) -> int:
    found = re.search(rf'id="handover-{name}">(\d+)<', page)
    assert found, f"no handover-{name} on the start page"
    return int(found.group(1))


@pytest.fixture
def tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sa.Engine:
    """A tracker store where the bot answered one widget request for a person with the live handover."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    monkeypatch.setattr(settings, "TRACKER_DATABASE_URL", url)
    engine = sa.create_engine(url)
    now = desk.utcnow().timestamp()
    insert(engine, [Message("resident-0001-dash", now - 60, ASK_FOR_PERSON, "zh", "request_human", "handover", None)])
    return engine


def test_the_start_page_counts_waiting_taken_and_left_conversations_from_the_kb(resident, staff, kb_url, tracker):
    ask_for_a_person(resident, "resident-0001-dash")  # stays in the queue
    taken = ask_for_a_person(resident, "resident-0002-dash")
    yesterday = ask_for_a_person(resident, "resident-0003-dash")
    wang = staff("wang")
    for handover_id in (taken, yesterday):
        assert wang.post(f"/admin/handover/{handover_id}/take", token_from="/admin/handover").status_code == 303
    assert wang.post(f"/admin/handover/{yesterday}/close", token_from="/admin/handover").status_code == 303
    with session_factory(kb_url)() as session, session.begin():
        session.get(Handover, yesterday).taken_at -= timedelta(days=1)  # taken before today: not "taken today"
    for text, done in (("请回电，关于医保", False), ("已经处理过的留言", True)):
        left = resident.post("/api/handover/message", json={"session": "resident-0004-dash", "text": text})
        assert left.status_code == 201
        if done:
            assert (
                wang.post(
                    f"/admin/handover-messages/{left.json()['id']}", token_from="/admin/handover-messages"
                ).status_code
                == 303
            )

    page = staff("li").get("/admin/").text  # a viewer sees the numbers too
    shown = {name: stat(page, name) for name in ("waiting", "active", "taken-today", "messages-left")}
    assert shown == {"waiting": 1, "active": 1, "taken-today": 1, "messages-left": 1}
    assert "另有转人工 Handovers besides: 1" in page  # the widget's "a person, please" reply is counted
    with session_factory(kb_url)() as session:
        board = stats.dashboard(session, tracker)
    assert vars(board.handover) == {"waiting": 1, "active": 1, "taken_today": 1, "messages_left": 1}
