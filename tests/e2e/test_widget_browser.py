"""The residents' chat widget in headless Debian Chromium, on the gateway, in front of the real Rasa and KB."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from playwright.sync_api import expect

from kb.text import has_cjk
from tests.e2e.browser import ask, open_widget, stored

expect.set_options(timeout=30_000)  # the first answers wait for Rasa's model; nothing here asserts a duration

XSS = "<img src=x onerror=alert(1)>"
# Count every <img> ever added to the conversation (the CSP would stop its onerror, so look for the element).
WATCH_FOR_IMAGES = """() => {
  window.ztImagesAdded = 0;
  new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach((node) => {
    if (node.nodeType === 1 && (node.tagName === "IMG" || node.querySelector("img"))) window.ztImagesAdded++;
  }))).observe(document.querySelector(".zt-log"), {childList: true, subtree: true});
}"""


def test_chinese_question_gets_the_chinese_answer_with_its_source(open_page):
    """Greeting and topics in Chinese; 尊老金 question answered with the figure; the quote expands under it."""
    page = open_page(locale="zh-CN")
    open_widget(page)
    greeting = page.locator(".zt-bot").first
    expect(greeting).to_contain_text("支塘小助手")
    for topic in ("尊老金", "医保", "法律顾问", "便民服务中心"):
        expect(greeting.locator(".zt-chip", has_text=topic)).to_be_visible()
    expect(page.locator("#zt-input")).to_have_attribute("placeholder", re.compile("请输入"))
    expect(page.locator(".zt-privacy")).to_contain_text("身份证号")

    answer = ask(page, "尊老金发了多少?")
    assert "1428.35万元" in answer and "2022" in answer
    last = page.locator(".zt-bot").last
    quote = last.locator(".zt-source .zt-quote")
    expect(quote).to_be_hidden()
    last.locator(".zt-source summary").click()
    expect(quote).to_be_visible()
    expect(quote.locator("mark")).to_have_text("发放尊老金1428.35万元")
    assert page.errors == []


def test_english_browser_gets_english_ui_and_answers(open_page):
    """An English browser gets the English UI and greeting; an English question gets an English answer."""
    page = open_page(locale="en-US")
    open_widget(page)
    expect(page.locator(".zt-bot").first).to_contain_text("Hello")
    expect(page.locator("#zt-input")).to_have_attribute("placeholder", re.compile("Type your question"))
    expect(page.locator(".zt-privacy")).to_contain_text("personal details")
    answer = ask(page, "How many seniors received the elder allowance?")
    assert "21389" in answer
    assert not has_cjk(answer)


def test_replies_follow_the_language_written_in_and_the_toggle_switches_labels(open_page):
    """Chinese UI, English question: English answer; the toggle turns the labels to English and back."""
    page = open_page(locale="zh-CN")
    open_widget(page)
    answer = ask(page, "How many disputes were mediated?")
    assert "1089" in answer and not has_cjk(answer)
    page.locator(".zt-lang").click()
    expect(page.locator("#zt-input")).to_have_attribute("placeholder", re.compile("Type your question"))
    expect(page.locator(".zt-send")).to_have_text("Send")
    page.locator(".zt-lang").click()
    expect(page.locator(".zt-send")).to_have_text("发送")


def test_clicking_a_suggested_topic_asks_it(open_page):
    """The greeting's 尊老金 button asks about the elder allowance; the answer's own buttons work too."""
    page = open_page(locale="zh-CN")
    open_widget(page)
    page.locator(".zt-bot .zt-chip", has_text="尊老金").first.click()
    expect(page.locator(".zt-user .zt-text").last).to_have_text("尊老金")
    expect(page.locator(".zt-bot .zt-text").last).to_contain_text("1428.35万元")
    # a quick reply of the answer (a related service) is another question
    count = page.locator(".zt-bot").count()
    page.locator(".zt-bot").last.locator(".zt-chip", has_text="日间照料").click()
    expect(page.locator(".zt-bot")).not_to_have_count(count)
    expect(page.locator(".zt-bot .zt-text").last).to_contain_text("日间照料中心")


def test_reload_keeps_the_conversation_and_new_conversation_clears_it(open_page):
    """After a reload the history and session are back; 'new conversation' starts a fresh session."""
    page = open_page(locale="zh-CN")
    open_widget(page)
    ask(page, "医保报销了多少人次?")
    session = stored(page, "session")
    messages = page.locator(".zt-msg").count()
    page.reload()
    expect(page.locator(".zt-panel")).to_be_visible()  # still open
    expect(page.locator(".zt-msg")).to_have_count(messages)
    expect(page.locator(".zt-user .zt-text")).to_have_text(["医保报销了多少人次?"])
    expect(page.locator(".zt-bot .zt-text").last).to_contain_text("1293")
    assert stored(page, "session") == session
    # the follow-up still has the conversation's topic on the server side
    assert "409.33万元" in ask(page, "实付金额呢?")

    page.locator(".zt-new").click()
    expect(page.locator(".zt-user")).to_have_count(0)
    expect(page.locator(".zt-bot .zt-chip", has_text="尊老金").first).to_be_visible()
    assert stored(page, "session") != session


def test_elder_mode_enlarges_the_text(open_page):
    """Elder mode: larger text, line spacing at least 1.3, higher contrast, and it is remembered."""
    page = open_page(locale="zh-CN")
    open_widget(page)
    bubble = page.locator(".zt-bot .zt-bubble").first

    def style() -> dict:
        return bubble.evaluate(
            "(el) => { const s = getComputedStyle(el);"
            " return {size: parseFloat(s.fontSize), line: parseFloat(s.lineHeight), color: s.color}; }"
        )

    normal = style()
    toggle = page.locator(".zt-elder-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    elder = style()
    assert elder["size"] >= normal["size"] * 1.3
    assert elder["line"] / elder["size"] >= 1.3
    assert elder["color"] == "rgb(0, 0, 0)"
    page.reload()
    expect(page.locator(".zt-widget")).to_have_class(re.compile("zt-elder"))


def test_xss_string_shows_as_text(open_page):
    """Typed HTML is shown as characters, never run or parsed."""
    page = open_page(locale="zh-CN")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_widget(page)
    page.evaluate(WATCH_FOR_IMAGES)
    ask(page, XSS)
    expect(page.locator(".zt-user .zt-text").last).to_have_text(XSS)
    assert page.evaluate("() => window.ztImagesAdded") == 0, "an <img> was parsed, even if only for a moment"
    page.reload()  # restored from the history: the same string, still text
    expect(page.locator(".zt-user .zt-text").last).to_have_text(XSS)
    assert page.locator(".zt-log img").count() == 0
    assert dialogs == []


def test_bot_text_is_rendered_as_text_with_only_bold_and_links(open_page):
    """A bot message with HTML, **bold**, an https link and a javascript: link, as the widget renders it."""
    page = open_page(locale="zh-CN")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    bot_text = f"{XSS} **重要** 见 https://example.org/a?b=1 和 javascript:alert(2)\n第二行"

    def fake_chat(route):
        body = {
            "session": "x" * 16,
            "question": "test",
            "lang": "zh",
            "messages": [{"text": bot_text, "buttons": [], "source": None, "kind": None, "entry": None}],
        }
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/api/chat", fake_chat)
    page.locator(".zt-launcher").click()
    text = page.locator(".zt-bot .zt-text").last
    expect(text).to_contain_text(XSS)
    assert page.locator(".zt-log img").count() == 0
    expect(text.locator("strong")).to_have_text("重要")
    links = text.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.org/a?b=1")
    expect(links).to_have_attribute("rel", "noopener noreferrer nofollow")
    assert text.locator("br").count() == 1
    assert dialogs == []


def test_thumbs_down_is_stored_for_staff(open_page, stack):
    """👎 on an answer writes a feedback row with the question, the answer and its KB entry."""
    page = open_page(locale="zh-CN")
    open_widget(page)
    ask(page, "尊老金发了多少?")
    page.locator(".zt-bot").last.locator(".zt-down").click()
    expect(page.locator(".zt-bot").last.locator(".zt-feedback-status")).to_contain_text("谢谢您的评价")
    session = stored(page, "session")
    with sqlite3.connect(stack.kb_url.removeprefix("sqlite:///")) as db:
        rows = db.execute(
            "select rating, question, answer, entry_id, lang from feedback where session = ?", (session,)
        ).fetchall()
    assert len(rows) == 1
    rating, question, answer, entry_id, lang = rows[0]
    assert (rating, question, entry_id, lang) == ("down", "尊老金发了多少?", "elder_allowance", "zh")
    assert "1428.35万元" in answer


def test_personal_numbers_are_masked_in_the_conversation(open_page):
    """A mobile number typed in the question shows (and is kept) masked."""
    page = open_page(locale="zh-CN")
    open_widget(page)
    ask(page, "我的手机号13812345678,尊老金发了多少?")
    expect(page.locator(".zt-user .zt-text").last).to_have_text("我的手机号138****5678,尊老金发了多少?")
    assert "13812345678" not in json.dumps(stored(page, "history"), ensure_ascii=False)


def test_empty_message_gets_a_notice_in_the_residents_language(open_page):
    """Sending only spaces shows 'please type your question' and sends nothing."""
    page = open_page(locale="en-US")
    open_widget(page)
    page.locator("#zt-input").fill("   ")
    page.locator("#zt-input").press("Enter")
    expect(page.locator(".zt-notice .zt-text").last).to_have_text("Please type your question.")
    expect(page.locator(".zt-user")).to_have_count(0)


def test_keyboard_only_use_and_live_region(open_page):
    """Tab to the launcher, Enter opens with focus in the input, Enter sends, Escape closes back to the launcher."""
    page = open_page(locale="zh-CN")
    launcher = page.locator(".zt-launcher")
    for _ in range(60):  # tab through the page until the launcher has focus
        page.keyboard.press("Tab")
        if launcher.evaluate("(el) => el === document.activeElement"):
            break
    else:
        pytest.fail("the launcher cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#zt-input")).to_be_focused()
    expect(page.locator(".zt-log")).to_have_attribute("aria-live", "polite")
    expect(page.locator(".zt-bot .zt-chip").first).to_be_visible()
    page.keyboard.type("法律援助电话是多少?")
    page.keyboard.press("Enter")
    expect(page.locator(".zt-bot .zt-text").last).to_contain_text("便民服务中心")
    page.keyboard.press("Escape")
    expect(page.locator(".zt-panel")).to_be_hidden()
    expect(launcher).to_be_focused()


def test_usable_at_360_pixels(open_page):
    """On a 360 px phone the panel fits the screen, nothing scrolls sideways, and a question gets its answer."""
    page = open_page(locale="zh-CN", width=360, height=740)
    open_widget(page)
    box = page.locator(".zt-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert "1089" in ask(page, "矛盾纠纷调解了多少件?")
    send = page.locator(".zt-send").bounding_box()
    assert send["x"] + send["width"] <= 360 and send["y"] + send["height"] <= 740


def test_page_is_served_with_security_headers_and_local_assets(open_page, gateway):
    """The page has a CSP without inline scripts, and every resource comes from the gateway itself."""
    import httpx

    headers = httpx.get(gateway + "/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    page = open_page(locale="zh-CN")
    open_widget(page)
    urls = page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)")
    assert urls and all(url.startswith(gateway) for url in urls), urls
    assert page.errors == []


def test_widget_embeds_in_another_site_with_one_script_tag(open_page, embed_page, gateway):
    """Another site's page with only the script tag (data-lang="en", data-gateway) gets a working widget."""
    page = open_page(locale="zh-CN", path=embed_page)
    open_widget(page)
    expect(page.locator(".zt-send")).to_have_text("Send")  # data-lang wins over the browser's Chinese
    answer = ask(page, "How much elder allowance was paid?")
    assert "14.2835 million" in answer and not has_cjk(answer)
    css = page.locator("link[data-zhitang-widget]")
    expect(css).to_have_attribute("href", re.compile("^" + re.escape(gateway) + "/static/widget.css"))
    assert page.errors == []


def test_rasa_down_shows_a_polite_message_not_a_spinner(open_page, dead_gateway):
    """With Rasa down the resident reads 'temporarily unavailable … service centre'; the typing dots go away."""
    page = open_page(locale="zh-CN", path=dead_gateway + "/")
    page.locator(".zt-launcher").click()
    notice = page.locator(".zt-notice .zt-text").last
    expect(notice).to_contain_text("暂时无法回答")
    expect(notice).to_contain_text("便民服务中心")
    expect(page.locator(".zt-typing")).to_be_hidden()
    page.locator("#zt-input").fill("How much elder allowance was paid?")
    page.locator("#zt-input").press("Enter")
    expect(page.locator(".zt-notice .zt-text").last).to_contain_text("temporarily unavailable")
    expect(page.locator(".zt-user .zt-text")).to_have_text(["How much elder allowance was paid?"])
    expect(page.locator(".zt-send")).to_be_enabled()


def test_rasa_http_api_is_not_open(stack):
    """Only the REST channel answers: Rasa's HTTP API (trackers, model, status) is not enabled."""
    import httpx

    for path in ("/status", "/version", "/conversations/someone/tracker", "/model/parse"):
        assert httpx.get(stack.rasa_url + path).status_code in (404, 405), path
