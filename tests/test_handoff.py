"""转人工/服务中心 until live handover exists: every contact detail staff filled for the service centre, the ones
still missing, and whether it is open now, read from the office hours staff typed (never guessed)."""

from __future__ import annotations

import re
from datetime import datetime, time

import pytest

import actions.handoff
from actions.handoff import ActionHumanHandoff, handoff_lines, is_open_now, mentions_holidays, opening_hours
from actions.i18n import t
from kb.db import session_factory
from kb.edits import update_entry

TOWN = actions.handoff.TOWN_TIME
WEDNESDAY_10 = datetime(2024, 5, 8, 10, 5, tzinfo=TOWN)
WEDNESDAY_NOON = datetime(2024, 5, 8, 12, 30, tzinfo=TOWN)
WEDNESDAY_EVENING = datetime(2024, 5, 8, 17, 0, tzinfo=TOWN)
SATURDAY_10 = datetime(2024, 5, 11, 10, 5, tzinfo=TOWN)
SUNDAY_10 = datetime(2024, 5, 12, 10, 5, tzinfo=TOWN)
WEEKDAYS = [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "text, days, hours",
    [
        ("周一至周五 8:30-17:00", WEEKDAYS, [(time(8, 30), time(17, 0))]),
        ("周一至周五 8:30-12:00，13:30-17:00", WEEKDAYS, [(time(8, 30), time(12)), (time(13, 30), time(17))]),
        (
            "工作日 上午8:30-11:30 下午1:30-5:00（法定节假日除外）",
            WEEKDAYS,
            [(time(8, 30), time(11, 30)), (time(13, 30), time(17))],
        ),
        ("星期一到星期五８：３０－１７：００", WEEKDAYS, [(time(8, 30), time(17, 0))]),
        ("周一至周五8点半到5点", WEEKDAYS, [(time(8, 30), time(17, 0))]),
        ("Mon-Fri 8:30-17:00", WEEKDAYS, [(time(8, 30), time(17, 0))]),
        ("Monday to Friday, 9am to 5pm, except public holidays", WEEKDAYS, [(time(9), time(17))]),
        ("每天 9:00-21:00", list(range(7)), [(time(9), time(21))]),
    ],
)
def test_weekly_hours_are_read(text, days, hours):
    week = opening_hours(text)
    assert week == {day: hours for day in days}


def test_days_listed_later_get_their_own_hours_and_closed_days_none():
    week = opening_hours("周一至周五 8:30-17:00，周六上午9:00-12:00，周日休息")
    assert week is not None
    assert week[5] == [(time(9), time(12))] and 6 not in week and week[0] == [(time(8, 30), time(17))]
    assert opening_hours("周一至周六 8:30-17:00；周六、周日休息") == {
        day: [(time(8, 30), time(17))] for day in WEEKDAYS
    }


@pytest.mark.parametrize(
    "text",
    [
        "8:30-17:00",  # which days?
        "夏季 8:00-17:30，冬季 8:30-17:00",  # seasons
        "请电话预约",
        "周一至周五 9-17",  # bare numbers are not times
        "周一至周五 8:30-17:00，中午轮流值班",
        "周一至周五 25:00-26:00",
        "",
    ],
)
def test_hours_that_cannot_be_read_give_none(text):
    assert opening_hours(text) is None
    assert is_open_now(text, WEDNESDAY_10) is None


def test_open_now_by_weekday_and_time():
    hours = "周一至周五 8:30-12:00，13:30-17:00"
    assert is_open_now(hours, WEDNESDAY_10) is True
    assert is_open_now(hours, WEDNESDAY_NOON) is False  # lunch break
    assert is_open_now(hours, WEDNESDAY_EVENING) is False  # closes at 17:00
    assert is_open_now(hours, SATURDAY_10) is False
    assert is_open_now("周一至周五 8:30-17:00，周六上午9:00-12:00", SATURDAY_10) is True
    assert is_open_now("每天 9:00-21:00", SUNDAY_10) is True
    assert mentions_holidays("法定节假日除外") and not mentions_holidays(hours)


def centre(**fields: str) -> dict:
    return {"id": "service_centre", "staff": {name: {"zh": value, "en": None} for name, value in fields.items()}}


def digits(text: str) -> str:
    return re.sub(r"(?<=\d)[\s\-()]+(?=\d)", "", text)


def test_nothing_filled_says_so_and_invents_nothing():
    for lang in ("zh", "en"):
        text = "\n".join(handoff_lines(centre(), lang, WEDNESDAY_10))
        assert t("handoff", lang) in text and t("handoff_no_contact", lang) in text
        assert not re.search(r"\d{5,}", digits(text)) and not re.search(r"\d{1,2}:\d{2}", text)
    assert handoff_lines(None, "zh", WEDNESDAY_10) == [t("handoff", "zh"), t("handoff_no_contact", "zh")]


def test_every_filled_detail_is_given_and_the_missing_ones_named():
    lines = handoff_lines(centre(phone="0512-52001234", link="https://zwfw.example.gov.cn"), "zh", WEDNESDAY_10)
    text = "\n".join(lines)
    assert "便民服务中心联系电话：0512-52001234" in text
    assert "便民服务中心网上办理链接：https://zwfw.example.gov.cn" in text
    assert "镇工作人员还没有填写服务中心的地址、办公时间" in text
    assert not any("现在" in line for line in lines)

    full = centre(phone="52001234", address="支塘镇人民路1号", hours="周一至周五 8:30-17:00")
    text = "\n".join(handoff_lines(full, "en", WEDNESDAY_10))
    assert "Service centre phone number: 52001234" in text
    # staff wrote them in Chinese only: the hours are said from their days and times, the address as written
    assert "Service centre opening hours: Monday to Friday, 8:30–17:00" in text
    assert "Service centre address: 支塘镇人民路1号 (town staff gave this only in Chinese; as they wrote it" in text
    assert "not filled in" not in text
    assert text.endswith("the centre is open now (Wed 10:05, Beijing time).")
    text = "\n".join(handoff_lines(full, "zh", SATURDAY_10))
    assert text.endswith("按工作人员填写的办公时间，现在（北京时间周六 10:05）服务中心不在办公时间。")


def test_open_now_notes_holidays_and_unreadable_hours_are_not_guessed():
    holidays = centre(hours="工作日 8:30-17:00（法定节假日除外）")
    assert handoff_lines(holidays, "zh", WEDNESDAY_10)[-1].endswith("服务中心在办公。法定节假日以服务中心的通知为准。")
    # what the reader cannot carry over (the holidays) is not said in English as if translated: given as written
    lines = handoff_lines(holidays, "en", WEDNESDAY_10)
    assert "工作日 8:30-17:00（法定节假日除外） (town staff gave this only in Chinese" in "\n".join(lines)
    seasons = centre(hours="夏季 8:00-17:30，冬季 8:30-17:00")
    lines = handoff_lines(seasons, "en", WEDNESDAY_10)
    assert lines[-1] == t("open_unknown", "en")
    assert "is open now (" not in "\n".join(lines) and "is closed now (" not in "\n".join(lines)


async def test_the_action_reads_the_contact_entry_from_the_kb(kb_url, dispatcher, make_tracker, domain, monkeypatch):
    staff = {"phone": {"zh": "0512-52005678"}, "hours": {"zh": "周一至周五 8:30-12:00，13:30-17:00"}}
    with session_factory(kb_url)() as session, session.begin():
        update_entry(session, "service_centre", {"staff": staff}, None, "wang")  # as the staff admin saves it
    monkeypatch.setattr(actions.handoff, "town_now", lambda: WEDNESDAY_NOON)
    events = await ActionHumanHandoff().run(dispatcher, make_tracker("我要找人工", "request_human"), domain)
    assert events == []
    message = dispatcher.messages[0]
    assert message["custom"]["kind"] == "handoff"  # the widget links the phone numbers in it
    text = message["text"]
    assert "便民服务中心联系电话：0512-52005678" in text
    assert "便民服务中心办公时间：周一至周五 8:30-12:00，13:30-17:00" in text
    assert "镇工作人员还没有填写服务中心的地址" in text
    assert "现在（北京时间周三 12:30）服务中心不在办公时间" in text
