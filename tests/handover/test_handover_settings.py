"""The 转人工 settings page: the hours staff type (in Chinese or English) are kept as days and times and shown back as
residents read them in both languages; refused input stays in the form with the reason."""

from __future__ import annotations

from html import unescape

from kb import handover as desk
from kb.db import session_factory

PAGE = "/admin/handover-settings"


def test_hours_typed_in_english_are_shown_back_in_both_languages_and_kept_as_days_and_times(staff, kb_url):
    wang = staff("wang")
    before = unescape(wang.get(PAGE).text)
    assert "周一至周五 8:30–12:00、13:00–16:30" in before  # the default, as residents read it
    assert "Monday to Friday, 8:30–12:00 and 13:00–16:30" in before
    saved = wang.post(
        PAGE,
        {"office_hours": "Mon-Fri 9:00-17:00, Sat 9:00-12:00", "holidays": "", "wait_minutes": "5", "hours_note": ""},
        PAGE,
    )
    assert saved.status_code == 303
    after = unescape(wang.get(PAGE).text)
    assert 'value="周一至周五 9:00–17:00；周六 9:00–12:00"' in after  # the form shows the hours in the clerks' words
    assert "Monday to Friday, 9:00–17:00; Saturday, 9:00–12:00" in after
    with session_factory(kb_url)() as session:
        hours = desk.current_hours(session)
    assert sorted(hours.week) == [0, 1, 2, 3, 4, 5] and hours.wait_minutes == 5


def test_hours_that_cannot_be_read_are_refused_and_stay_in_the_form(staff):
    wang = staff("wang")
    refused = wang.post(
        PAGE, {"office_hours": "看情况", "holidays": "", "wait_minutes": "10", "hours_note": "电话预约"}, PAGE
    )
    assert refused.status_code == 400
    page = unescape(refused.text)
    assert "读不懂这段工作时间" in page and "The hours cannot be read" in page
    assert 'value="看情况"' in page and 'value="电话预约"' in page
