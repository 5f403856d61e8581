"""转人工 in the action server: from the widget (which can hand over), a person during the office hours staff set,
else a message (留言) with the service-centre route; from anywhere else (WeChat, the REST channel), the
service-centre route as before."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from rasa_sdk import Tracker

import actions.handoff
from actions.handoff import ActionHumanHandoff
from bot.office_hours import TOWN_TIME
from kb import handover as desk
from kb.db import session_factory

WEDNESDAY_10 = datetime(2024, 5, 8, 10, 5, tzinfo=TOWN_TIME)
WEDNESDAY_EVENING = datetime(2024, 5, 8, 19, 0, tzinfo=TOWN_TIME)


def from_widget(tracker: Tracker) -> Tracker:
    """The same message with the metadata the gateway adds for the widget."""
    tracker.latest_message["metadata"] = {"lang": tracker.get_slot("language"), "handover": True}
    return tracker


async def ask(dispatcher, tracker, domain, now, monkeypatch) -> dict:
    monkeypatch.setattr(actions.handoff, "town_now", lambda: now)
    assert await ActionHumanHandoff().run(dispatcher, tracker, domain) == []
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]


@pytest.mark.parametrize(
    "text, words", [("我要找人工", "正在为您转接镇工作人员"), ("I want to speak to a human", "putting you through")]
)
async def test_in_office_hours_the_widget_is_told_to_queue_the_conversation(
    kb_url, dispatcher, make_tracker, domain, monkeypatch, text, words
):
    message = await ask(dispatcher, from_widget(make_tracker(text, "request_human")), domain, WEDNESDAY_10, monkeypatch)
    assert message["custom"]["handover"] == {"state": "queue"}
    assert words in message["text"]


@pytest.mark.parametrize(
    "text, words, hours",
    [
        ("转人工", "现在不是镇工作人员在线答复的时间", "周一至周五 8:30–12:00、13:00–16:30"),
        ("talk to a person", "not answering online", "Monday to Friday, 8:30–12:00 and 13:00–16:30"),
    ],
)
async def test_after_hours_the_widget_offers_a_message_and_the_service_centre_route(
    kb_url, dispatcher, make_tracker, domain, monkeypatch, text, words, hours
):
    tracker = from_widget(make_tracker(text, "request_human"))
    message = await ask(dispatcher, tracker, domain, WEDNESDAY_EVENING, monkeypatch)
    assert message["custom"]["handover"] == {"state": "message"}
    assert words in message["text"] and hours in message["text"]
    assert ("便民服务中心" in message["text"]) or ("Public Service Centre" in message["text"])


async def test_an_english_resident_reads_the_hours_staff_typed_in_chinese_in_english_and_their_note_labelled(
    kb_url, dispatcher, make_tracker, domain, monkeypatch
):
    with session_factory(kb_url)() as session, session.begin():
        desk.save_hours(session, "周一至周五 8:30-17:00，周六上午9:00-12:00", "", 10, "wang", "中午不休息")
    tracker = from_widget(make_tracker("talk to a person", "request_human"))
    text = (await ask(dispatcher, tracker, domain, WEDNESDAY_EVENING, monkeypatch))["text"]
    first = text.splitlines()[0]
    assert "Their hours (Beijing time): Monday to Friday, 8:30–17:00; Saturday, 9:00–12:00." in first
    assert not re.search(r"[\u4e00-\u9fff]", first)  # no Chinese in the English sentence
    assert "A note from town staff (as they wrote it, not translated): 中午不休息" in text


async def test_on_a_holiday_staff_set_nobody_answers_live(kb_url, dispatcher, make_tracker, domain, monkeypatch):
    with session_factory(kb_url)() as session, session.begin():
        desk.save_hours(session, "", "2024-05-08", 10, "wang")
    message = await ask(
        dispatcher, from_widget(make_tracker("转人工", "request_human")), domain, WEDNESDAY_10, monkeypatch
    )
    assert message["custom"]["handover"] == {"state": "message"}
    assert "今天是节假日" in message["text"]


async def test_without_the_widget_the_answer_is_the_service_centre_route(
    kb_url, dispatcher, make_tracker, domain, monkeypatch
):
    message = await ask(dispatcher, make_tracker("我要找人工", "request_human"), domain, WEDNESDAY_10, monkeypatch)
    assert "handover" not in message["custom"] and message["custom"]["kind"] == "handoff"
    assert "便民服务中心" in message["text"]
