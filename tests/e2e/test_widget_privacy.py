"""The widget's privacy controls in headless Debian Chromium, on a gateway in front of the real Rasa and KB:
"delete my conversation" deletes it on the server and in the browser, the folded privacy notice, the browser's
copy expires, and only masked words are ever kept in the browser."""

from __future__ import annotations

import json
import re
import sqlite3
import time

from playwright.sync_api import expect

from tests.e2e.browser import ask, everything_stored, open_widget

expect.set_options(timeout=30_000)  # the first answers wait for Rasa's model; nothing here asserts a duration

QUESTION = "我的手机号13812345678,尊老金发了多少?"
MASKED = "我的手机号138****5678,尊老金发了多少?"


def events_of(stack, session: str) -> int:
    with sqlite3.connect(stack.tracker_db) as db:
        return db.execute("select count(*) from events where sender_id = ?", (session,)).fetchone()[0]


def feedback_of(stack, session: str) -> int:
    with sqlite3.connect(stack.kb_url.removeprefix("sqlite:///")) as db:
        return db.execute("select count(*) from feedback where session = ?", (session,)).fetchone()[0]


def test_delete_my_conversation_deletes_it_on_the_server_and_in_this_browser(open_page, stack):
    page = open_page(locale="zh-CN")
    open_widget(page)
    ask(page, QUESTION)
    page.locator(".zt-bot").last.locator(".zt-down").click()
    expect(page.locator(".zt-bot").last.locator(".zt-feedback-status")).to_contain_text("谢谢")
    session = json.loads(everything_stored(page)["session"])
    assert events_of(stack, session) > 0 and feedback_of(stack, session) == 1
    assert MASKED in everything_stored(page)["history"] and "13812345678" not in json.dumps(everything_stored(page))

    forget = page.locator(".zt-forget")
    expect(forget).to_have_text("清除记录")
    forget.click()
    confirm = page.locator(".zt-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("无法恢复")
    expect(page.locator(".zt-confirm-no")).to_be_focused()
    page.locator(".zt-confirm-yes").click()

    expect(page.locator(".zt-notice .zt-text").last).to_contain_text("已从服务器上删除")
    expect(page.locator(".zt-user")).to_have_count(0)
    expect(page.locator(".zt-bot .zt-chip", has_text="尊老金").first).to_be_visible()  # a new conversation
    expect(confirm).to_be_hidden()
    deadline = time.monotonic() + 10
    while events_of(stack, session) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert events_of(stack, session) == 0, "the tracker store still has the conversation"
    assert feedback_of(stack, session) == 0
    kept = json.dumps(everything_stored(page), ensure_ascii=False)
    # no trace of the question or the (masked) number; "138" alone could occur in the new session's random id
    assert (
        session not in kept and "尊老金发了多少" not in kept and "138****5678" not in kept and "13812345678" not in kept
    )
    assert json.loads(everything_stored(page)["session"]) != session
    ask(page, "医保报销了多少人次?")  # the new conversation works
    expect(page.locator(".zt-bot .zt-text").last).to_contain_text("1293")
    assert page.errors == []


def test_cancel_or_escape_keeps_the_conversation(open_page, stack):
    page = open_page(locale="en-US")
    open_widget(page)
    ask(page, "How much elder allowance was paid?")
    session = json.loads(everything_stored(page)["session"])
    page.locator(".zt-forget").click()
    expect(page.locator(".zt-forget")).to_have_attribute("aria-expanded", "true")
    page.locator(".zt-confirm-no").click()
    expect(page.locator(".zt-confirm")).to_be_hidden()
    expect(page.locator(".zt-forget")).to_be_focused()
    page.locator(".zt-forget").click()
    page.keyboard.press("Escape")  # cancels the question; the panel stays open
    expect(page.locator(".zt-confirm")).to_be_hidden()
    expect(page.locator(".zt-panel")).to_be_visible()
    expect(page.locator(".zt-user")).to_have_count(1)
    assert events_of(stack, session) > 0 and json.loads(everything_stored(page)["session"]) == session


def test_when_the_server_cannot_delete_everything_stays_for_another_try(open_page):
    page = open_page(locale="en-US")
    open_widget(page)
    ask(page, "How much elder allowance was paid?")
    before = everything_stored(page)
    page.route(
        "**/api/forget",
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps({"error": "unavailable", "message": "Sorry, temporarily unavailable.", "lang": "en"}),
        ),
    )
    page.locator(".zt-forget").click()
    page.locator(".zt-confirm-yes").click()
    expect(page.locator(".zt-notice .zt-text").last).to_have_text(
        "The conversation was not deleted. Please try again later."
    )
    expect(page.locator(".zt-user")).to_have_count(1)
    assert everything_stored(page) == before


def test_the_privacy_notice_is_folded_and_says_what_is_kept_how_long_and_how_to_delete(open_page):
    page = open_page(locale="zh-CN")
    open_widget(page)
    toggle = page.locator(".zt-privacy-toggle")
    notice = page.locator(".zt-privacy-notice")
    expect(notice).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_attribute("aria-controls", "zt-privacy-notice")
    toggle.click()
    expect(notice).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(notice).to_contain_text("180天后自动删除")  # the gateway's ZHITANG_RETENTION_DAYS
    expect(notice).to_contain_text("30天后清除")
    for words in ("保存什么", "遮盖", "138****5678", "清除记录"):
        expect(notice).to_contain_text(words)
    page.locator(".zt-lang").click()
    expect(notice).to_contain_text("after 180 days")
    expect(notice).to_contain_text("masked")
    expect(notice).to_contain_text("Delete chat")
    toggle.press("Enter")  # a real button: the keyboard folds it again
    expect(notice).to_be_hidden()
    expect(page.locator("#zt-input")).to_have_attribute("aria-describedby", re.compile("zt-privacy-text"))


def test_the_browsers_copy_of_a_conversation_expires_after_30_days(open_page):
    page = open_page(locale="zh-CN")
    open_widget(page)
    ask(page, "尊老金发了多少?")
    session = json.loads(everything_stored(page)["session"])
    month_ago = int(time.time() * 1000) - 31 * 24 * 3600 * 1000
    page.evaluate(
        """(at) => { const key = 'zhitang-assistant:history';
             const items = JSON.parse(localStorage.getItem(key));
             items.forEach((item) => { item.at = at; });
             localStorage.setItem(key, JSON.stringify(items)); }""",
        month_ago,
    )
    page.reload()
    expect(page.locator(".zt-bot .zt-chip").first).to_be_visible()  # greeted afresh (the panel was open)
    expect(page.locator(".zt-user")).to_have_count(0)
    kept = json.dumps(everything_stored(page), ensure_ascii=False)
    assert "尊老金发了多少" not in kept and session not in kept


def test_a_question_sent_while_the_gateway_is_unreachable_is_kept_masked(open_page):
    page = open_page(locale="zh-CN")
    open_widget(page)
    page.route("**/api/chat", lambda route: route.abort())
    page.locator("#zt-input").fill("我的身份证号320581199001011234,尊老金怎么领?")
    page.locator("#zt-input").press("Enter")
    expect(page.locator(".zt-notice .zt-text").last).to_contain_text("暂时无法回答")
    expect(page.locator(".zt-user .zt-text").last).to_have_text("我的身份证号320***********1234,尊老金怎么领?")
    kept = json.dumps(everything_stored(page), ensure_ascii=False)
    assert "320581199001011234" not in kept and "0101" not in kept
    assert "320***********1234" in kept
