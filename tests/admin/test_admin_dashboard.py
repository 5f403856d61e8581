"""The start page's numbers (kb.stats) from what is stored: questions per day and hour, how they were answered,
languages (Rasa's tracker store), 👍/👎 per topic, ratings, the queue (the KB); their charts and CSV; the index the
tracker queries read through; "what to fill first"; and entries shown by their names, never their ids."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot import settings
from kb import stats
from kb.db import session_factory
from kb.models import Entry, Feedback, Satisfaction
from kb.queries import record_unanswered
from tests.tracker_events import Message, insert

TOWN = ZoneInfo("Asia/Shanghai")
NOW = datetime.now(TOWN).replace(hour=12, minute=0, second=0, microsecond=0).astimezone(timezone.utc)  # today, noon
DAY = 86400.0


def at(days_ago: int, town_hour: int) -> float:
    """A UTC timestamp `days_ago` days before NOW's day, at an hour of Zhitang's clock."""
    return NOW.timestamp() - days_ago * DAY + (town_hour - 12) * 3600


MESSAGES = [
    Message("resident-a-0001", at(0, 9), "尊老金发了多少?", "zh", kind="answer"),
    Message("resident-a-0001", at(0, 9) + 60, "实付金额呢?", "zh", "ask_followup", kind="answer"),
    Message("resident-b-0001", at(0, 9) + 90, "Where is the service centre?", "en", kind="field_unknown"),
    Message("resident-b-0001", at(1, 15), "明天会下雨吗", "zh", "out_of_scope", kind="out_of_scope"),
    Message("resident-c-0001", at(1, 15) + 30, "医保", "zh", kind="did_you_mean"),
    Message("resident-c-0001", at(2, 20), "😀", None, kind="answer"),
    Message("resident-d-0001", at(2, 20) + 10, "你好", "zh", "greet", kind=None),  # a greeting is no question
    Message("resident-d-0001", at(30, 9), "long ago", "en", kind="dont_know"),  # before the 30 days
]


@pytest.fixture
def tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sa.Engine:
    """A tracker store with MESSAGES, as the settings name it."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    monkeypatch.setattr(settings, "TRACKER_DATABASE_URL", url)
    engine = sa.create_engine(url)
    insert(engine, MESSAGES)
    return engine


@pytest.fixture
def board(kb_url, tracker) -> stats.Dashboard:
    with session_factory(kb_url)() as session, session.begin():
        session.add(Feedback(session="s1", rating="up", entry_id="elder_allowance", created_at=NOW))
        session.add(Feedback(session="s2", rating="down", entry_id="elder_allowance", created_at=NOW))
        session.add(Feedback(session="s3", rating="down", entry_id="village_legal_adviser", created_at=NOW))
        session.add(Feedback(session="s4", rating="down", entry_id="elder_allowance", created_at=NOW - timedelta(60)))
        session.add(Satisfaction(session="s5", level="basic", occasion="end", created_at=NOW))
        for _ in range(3):
            record_unanswered(session, "明天会下雨吗", "zh", "out_of_scope")
    with session_factory(kb_url)() as session:
        return stats.dashboard(session, tracker, NOW)


def test_questions_per_day_and_hour_in_the_towns_time(board):
    assert len(board.days) == 30 and board.days[-1][0] == NOW.astimezone(TOWN).date()
    assert [n for _, n in board.days[-3:]] == [1, 2, 3]  # greetings and what is older than 30 days left out
    assert board.questions == 6
    assert (board.hours[9], board.hours[15], board.hours[20]) == (3, 2, 1)


def test_how_questions_were_answered_and_in_which_language(board):
    assert board.outcomes == {"answered": 3, "did_you_mean": 1, "sentence": 0, "dont_know": 2}
    assert board.languages == {"zh": 4, "en": 1, "": 1}  # the emoji has no language of its own


def test_thumbs_per_topic_ratings_and_the_queue(board):
    assert board.topics == [("elder_care", 1, 1), ("legal", 0, 1)]  # the 👎 of 60 days ago is not counted
    assert board.satisfaction["basic"] == 1 and sum(board.satisfaction.values()) == 1
    assert [(g.lead.text, g.count) for g in board.top_unanswered] == [("明天会下雨吗", 3)]


def test_without_a_tracker_store_the_conversation_numbers_are_zero(kb_url):
    with session_factory(kb_url)() as session:
        empty = stats.dashboard(session, None, NOW)
    assert empty.questions == 0 and not empty.tracker_found


def test_the_tracker_queries_read_through_the_dashboards_index(tracker):
    stats.tracker_indexes(tracker)
    since = at(29, 0)
    with tracker.connect() as connection:
        queries = [
            stats.questions_query(since, 28800),
            stats.kinds_query(connection, since),
            stats.languages_query(connection, since),
        ]
        plans = []
        for query in queries:
            sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
            plans.append(" ".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)))
    assert all(stats.TRACKER_INDEX in plan and "SCAN events" not in plan for plan in plans), plans
    assert f"COVERING INDEX {stats.TRACKER_INDEX}" in plans[0]  # per day and hour: the index alone


def test_the_start_page_shows_the_charts_and_exports_their_numbers(signed_in, board):
    li = signed_in("li")
    page = li.get("/admin/").text
    for chart in ("chart-days", "chart-outcomes", "chart-topics", "chart-unanswered", "chart-languages", "chart-hours"):
        assert re.search(rf'id="{chart}">\s*<svg class="zt-chart"[^>]*role="img"', page), chart
    assert re.search(r'id="stat-questions">6<', page)
    response = li.get("/admin/dashboard.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0] == ["section", "item", "value"]
    assert ["questions_per_day", NOW.astimezone(TOWN).date().isoformat(), "3"] in rows
    assert ["outcome", "答上了 Answered", "3"] in rows
    assert ["thumbs_down", "法律服务 Legal services", "1"] in rows
    assert ["top_unanswered", "明天会下雨吗", "3"] in rows
    assert ["language", "英文 English", "1"] in rows
    assert ["hour", "09:00", "3"] in rows


def test_what_to_fill_first_leads_with_the_service_centres_contacts_and_links_to_the_form(signed_in, kb_url):
    with session_factory(kb_url)() as session, session.begin():
        for _ in range(3):
            record_unanswered(session, "尊老金在哪里办", "zh", "field_unknown", "elder_allowance", ["address"])
        record_unanswered(session, "法律顾问电话", "zh", "field_unknown", "village_legal_adviser", ["phone"])
        record_unanswered(session, "服务中心电话", "zh", "field_unknown", "service_centre", ["phone"])
        record_unanswered(session, "尊老金要带什么", "zh", "field_unknown", "elder_allowance", ["documents"])
    with session_factory(kb_url)() as session:
        ranked = [(g.entry.id, g.field, g.count) for g in stats.fill_first(session)]
    assert ranked[:2] == [("service_centre", "address", 3), ("elder_allowance", "address", 3)]
    assert ranked[2] == ("service_centre", "phone", 2)
    page = signed_in("wang").get("/admin/fill-first").text
    assert page.index("便民服务中心") < page.index("尊老金")
    assert 'href="http://testserver/admin/entry/edit/service_centre#address_zh"' in page
    with session_factory(kb_url)() as session, session.begin():
        session.get(Entry, "service_centre").address_zh = "支塘镇人民路1号"  # filled: off the list
    with session_factory(kb_url)() as session:
        assert ("service_centre", "address") not in [(g.entry.id, g.field) for g in stats.fill_first(session)]


# --- names, not ids ------------------------------------------------------------------------------------------

DETAIL_LINE = re.compile(r'<(\w+)[^>]*class="[^"]*\bzt-id\b[^"]*"[^>]*>.*?</\1>', re.S)


def visible_ids(html: str, ids: list[str]) -> list[str]:
    """The entry ids a clerk would read on the page: in its text, outside the detail lines (class zt-id)."""
    body = html[html.find("<body") :]
    text = re.sub(r"<[^>]+>", " ", DETAIL_LINE.sub(" ", body))
    text = re.sub(r"<script.*?</script>", " ", text, flags=re.S)
    return sorted({i for i in ids if re.search(rf"(?<![\w/]){re.escape(i)}(?![\w])", text)})


def test_clerks_read_entries_by_name_on_every_page(signed_in, kb_url, board):
    wang = signed_in("wang")
    fact_id = wang.get("/admin/fact/list").text  # the facts' list, to find one fact's page
    fact = re.search(r"/admin/fact/details/(\d+)", fact_id).group(1)
    with session_factory(kb_url)() as session, session.begin():
        from kb.edits import update_entry

        update_entry(
            session, "elder_allowance", {"staff": {"hours": {"zh": "周一至周五", "en": "Mon-Fri"}}}, None, "wang"
        )
        ids = [i for i in session.scalars(sa.select(Entry.id)) if "_" in i]  # one-word ids are ordinary words
    pages = (
        "/admin/ /admin/entry/list /admin/entry/details/elder_allowance /admin/entry/edit/elder_allowance "
        f"/admin/fact/list /admin/fact/details/{fact} /admin/revision/list /admin/revision/list?entry_id=elder_allowance "
        "/admin/revision/details/1 /admin/unanswered-question/list /admin/unanswered-question/list?status=answered "
        "/admin/fill-first /admin/feedback/list /admin/feedback/list?rating=down&entry_id=elder_allowance "
        "/admin/satisfaction"
    ).split()
    for path in pages:
        response = wang.get(path)
        assert response.status_code == 200, path
        assert visible_ids(response.text, ids) == [], path
