"""The widget's read-aloud (speechSynthesis, stubbed: headless Chromium has no voices), tap-to-call links for the
phone numbers staff entered, 转人工/服务中心 with the centre's contacts, and the embedding API, in headless Debian
Chromium on the gateway in front of the real Rasa and KB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from bot.office_hours import TOWN_TIME
from kb import handover
from kb.db import session_factory
from kb.edits import update_entry
from kb.models import HandoverSettings
from tests.e2e.browser import ask

expect.set_options(timeout=30_000)  # the first answers wait for Rasa's model; nothing here asserts a duration

# A speechSynthesis that records what it is asked to say: two zh-CN voices (one in the cloud, one on the device),
# a Cantonese one, an English one. `ztFinish()` ends the utterance being spoken.
FAKE_SPEECH = """
(() => {
  window.ztSpoken = [];
  window.ztCancelled = 0;
  const voices = [
    {name: "Cloud Mandarin", lang: "zh-CN", localService: false, default: true, voiceURI: "cloud-zh"},
    {name: "Local Cantonese", lang: "zh-HK", localService: true, default: false, voiceURI: "local-yue"},
    {name: "Local Mandarin", lang: "zh-CN", localService: true, default: false, voiceURI: "local-zh"},
    {name: "Local English", lang: "en-US", localService: true, default: false, voiceURI: "local-en"},
  ];
  class Utterance { constructor(text) { this.text = text; this.lang = ""; this.voice = null; this.rate = 1; } }
  const synth = {
    current: null,
    getVoices: () => voices,
    speak(u) {
      window.ztSpoken.push({text: u.text, lang: u.lang, voice: u.voice && u.voice.name});
      this.current = u;
    },
    cancel() {
      window.ztCancelled++;
      const u = this.current;
      this.current = null;
      if (u && u.onend) setTimeout(() => u.onend({}), 0);
    },
    pause() {}, resume() {}, addEventListener() {}, removeEventListener() {},
  };
  Object.defineProperty(window, "speechSynthesis", {value: synth, configurable: true});
  window.SpeechSynthesisUtterance = Utterance;
  window.ztFinish = () => { const u = synth.current; synth.current = null; if (u && u.onend) u.onend({}); };
})();
"""
NO_SPEECH = """
Object.defineProperty(window, "speechSynthesis", {value: undefined, configurable: true});
delete window.SpeechSynthesisUtterance;
"""


@pytest.fixture
def speaking_page(browser, gateway) -> Iterator:
    """open(script, locale, width, height): the town page in a fresh profile with an init script."""
    contexts = []

    def _open(script: str, locale: str = "zh-CN", width: int = 1280, height: int = 800) -> Page:
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        context.route(lambda url: not url.startswith("http://127.0.0.1:"), lambda route: route.abort())
        context.add_init_script(script)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda err: page.errors.append(str(err)))
        page.goto(gateway)
        page.wait_for_function("() => window.ZhitangWidget")
        return page

    yield _open
    for context in contexts:
        context.close()


def open_widget(page: Page) -> None:
    page.evaluate("() => window.ZhitangWidget.open()")
    expect(page.locator(".zt-bot .zt-chip").first).to_be_visible(timeout=60_000)


def spoken(page: Page) -> list[dict]:
    return page.evaluate("() => window.ztSpoken")


def test_read_aloud_uses_a_local_voice_of_the_answers_language_one_reading_at_a_time(speaking_page):
    page = speaking_page(FAKE_SPEECH)
    open_widget(page)
    ask(page, "尊老金发了多少?")
    answer = page.locator(".zt-bot").last.locator(".zt-read")
    greeting = page.locator(".zt-bot").first.locator(".zt-read")
    expect(answer).to_have_text("朗读")
    expect(answer).to_have_attribute("aria-label", "朗读这条回答")
    answer.click()
    said = spoken(page)
    assert len(said) == 1 and "1428.35万元" in said[0]["text"] and "**" not in said[0]["text"]
    assert said[0]["lang"] == "zh-CN" and said[0]["voice"] == "Local Mandarin"  # on the device, not Cantonese
    expect(answer).to_have_text("停止朗读")

    cancelled = page.evaluate("() => window.ztCancelled")
    greeting.click()  # another reading: the first one stops
    assert page.evaluate("() => window.ztCancelled") > cancelled
    assert len(spoken(page)) == 2 and "支塘小助手" in spoken(page)[1]["text"]
    expect(answer).to_have_text("朗读")
    expect(greeting).to_have_text("停止朗读")
    cancelled = page.evaluate("() => window.ztCancelled")
    greeting.click()  # pressed again: it stops
    assert page.evaluate("() => window.ztCancelled") > cancelled
    expect(greeting).to_have_text("朗读")
    assert len(spoken(page)) == 2

    ask(page, "How many seniors received the elder allowance?")
    english = page.locator(".zt-bot").last.locator(".zt-read")
    english.click()
    assert spoken(page)[-1]["lang"] == "en-US" and spoken(page)[-1]["voice"] == "Local English"
    page.evaluate("() => window.ztFinish()")  # read to the end: the button is ready again
    expect(english).to_have_text("朗读")
    page.locator(".zt-lang").click()
    expect(page.locator(".zt-bot").last.locator(".zt-read")).to_have_text("Read aloud")
    assert page.errors == []


def test_auto_read_is_an_elder_mode_switch_that_is_remembered(speaking_page):
    page = speaking_page(FAKE_SPEECH)
    open_widget(page)
    switch = page.locator(".zt-autoread")
    expect(switch).to_be_hidden()  # standard mode: no switch
    page.evaluate("() => window.ZhitangWidget.setElder(true)")
    expect(switch).to_be_visible()
    expect(switch).to_have_attribute("aria-pressed", "false")
    expect(switch).to_have_attribute("aria-label", "自动朗读新的回答")
    ask(page, "医保报销了多少人次?")
    assert spoken(page) == []  # off: nothing is read by itself

    switch.click()
    expect(switch).to_have_attribute("aria-pressed", "true")
    ask(page, "矛盾纠纷调解了多少件?")
    said = spoken(page)
    assert len(said) == 1 and "1089" in said[0]["text"] and said[0]["lang"] == "zh-CN"
    expect(page.locator(".zt-bot").last.locator(".zt-read")).to_have_text("停止朗读")

    page.reload()
    expect(page.locator(".zt-autoread")).to_have_attribute("aria-pressed", "true")
    page.evaluate("() => window.ZhitangWidget.setElder(false)")
    expect(page.locator(".zt-autoread")).to_be_hidden()
    ask(page, "尊老金发了多少?")
    assert spoken(page) == []  # a new page: nothing read, and standard mode does not auto-read
    assert page.errors == []


def test_without_speech_synthesis_there_is_no_read_aloud(speaking_page):
    """Some Android WebViews have no speechSynthesis: no 朗读 buttons, no auto-read switch, nothing breaks."""
    page = speaking_page(NO_SPEECH, width=360, height=740)
    assert page.evaluate("() => typeof window.speechSynthesis") == "undefined"
    page.evaluate("() => window.ZhitangWidget.setElder(true)")
    open_widget(page)
    ask(page, "尊老金发了多少?")
    expect(page.locator(".zt-bot .zt-text").last).to_contain_text("1428.35万元")
    expect(page.locator(".zt-read")).to_have_count(0)
    expect(page.locator(".zt-autoread")).to_be_hidden()
    expect(page.locator(".zt-bot").last.locator(".zt-up")).to_be_visible()
    assert page.errors == []


def fake_reply(page: Page, text: str, kind: str | None) -> None:
    """Answer every /api/chat with one bot message of this text and kind."""

    def fulfil(route):
        message = {"text": text, "buttons": [], "source": None, "kind": kind, "entry": None}
        body = {"session": "x" * 16, "question": "test", "lang": "zh", "messages": [message]}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/api/chat", fulfil)


def test_staff_phone_numbers_become_tel_links_and_nothing_else_does(open_page):
    page = open_page(locale="zh-CN")
    text = (
        "便民服务中心联系电话：0512-52005678，热线 12345\n办公时间：周一至周五 8:30-17:00（2024-05-01更新）\n"
        "全年受理事项126095件，发放1428.35万元。"
    )
    fake_reply(page, text, "handoff")
    page.locator(".zt-launcher").click()
    body = page.locator(".zt-bot .zt-text").last
    expect(body).to_have_text(text.replace("\n", ""))
    links = body.locator("a")
    expect(links).to_have_count(2)
    expect(links.nth(0)).to_have_attribute("href", "tel:051252005678")
    expect(links.nth(0)).to_have_text("0512-52005678")
    expect(links.nth(0)).to_have_attribute("aria-label", "拨打电话 0512-52005678")
    expect(links.nth(1)).to_have_attribute("href", "tel:12345")
    page.reload()  # restored from the history: still links
    expect(page.locator(".zt-bot .zt-text").last.locator("a[href^='tel:']")).to_have_count(2)

    # an answer that is not about staff contacts: numbers stay text
    fake_reply(page, "便民服务中心受理事项126095件，电话0512-52005678。", "fact")
    page.locator(".zt-new").click()
    expect(page.locator(".zt-bot .zt-text").last).to_contain_text("126095")
    expect(page.locator(".zt-bot .zt-text").last.locator("a")).to_have_count(0)


def test_markup_in_a_contact_answer_stays_text(open_page):
    """Script and HTML in an answer that gets tel: links are shown as characters; only the widget's own link is made."""
    page = open_page(locale="zh-CN")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    text = '<script>alert(1)</script><img src=x onerror=alert(2)><a href="tel:110">电话</a> 0512-52005678'
    fake_reply(page, text, "handoff")
    page.locator(".zt-launcher").click()
    body = page.locator(".zt-bot .zt-text").last
    expect(body).to_have_text(text)
    assert page.locator(".zt-log script, .zt-log img").count() == 0
    expect(body.locator("a")).to_have_count(1)
    expect(body.locator("a")).to_have_attribute("href", "tel:051252005678")
    assert dialogs == [] and page.errors == []


@pytest.fixture
def centre_contacts(stack) -> Iterator[None]:
    """The service centre's phone and hours as staff would fill them (made up for the test), removed afterwards."""

    def fill(phone: str | None, hours: str | None) -> None:
        staff = {"phone": {"zh": phone, "en": None}, "hours": {"zh": hours, "en": None}}
        with session_factory(stack.kb_url)() as session, session.begin():
            update_entry(session, "service_centre", {"staff": staff}, None, "e2e-test")  # as the admin saves it

    fill("0512-52009999", "每天 0:00-24:00")
    # Nobody answers live today (a holiday staff set), whatever the hour the test runs at: the reply is the
    # message form (留言) with the centre's route, never the staff queue (tests/e2e/test_handover_browser.py).
    with session_factory(stack.kb_url)() as session, session.begin():
        handover.save_hours(session, "", datetime.now(TOWN_TIME).date().isoformat(), 10, "e2e-test")
    try:
        yield
    finally:
        fill(None, None)
        with session_factory(stack.kb_url)() as session, session.begin():
            session.execute(sa.delete(HandoverSettings))


def test_talk_to_a_person_gives_the_centres_contacts_with_a_tel_link(open_page, centre_contacts):
    page = open_page(locale="zh-CN", width=360, height=740)
    page.evaluate("() => window.ZhitangWidget.setElder(true)")
    open_widget(page)
    ask(page, "尊老金发了多少?")
    page.locator(".zt-bot").last.locator(".zt-chip", has_text="转人工/服务中心").click()
    reply = page.locator(".zt-bot .zt-text").last
    expect(reply).to_contain_text("便民服务中心联系电话：0512-52009999")
    expect(reply).to_contain_text("镇工作人员还没有填写服务中心的地址")
    expect(reply).to_contain_text("服务中心在办公")  # staff said: every day, all day
    call = reply.locator("a[href='tel:051252009999']")
    expect(call).to_be_visible()
    box = call.bounding_box()
    assert box["width"] >= 60 and box["height"] >= 60  # elder mode: a big button to tap
    assert page.errors == []


def test_the_embedding_api(open_page):
    """window.ZhitangWidget: open, close, ask, setElder, setLang; the root element #zhitang-assistant."""
    page = open_page(locale="zh-CN")
    page.wait_for_function("() => window.ZhitangWidget")
    api = page.evaluate(
        "() => Object.keys(window.ZhitangWidget).filter((k) => typeof window.ZhitangWidget[k] === 'function')"
    )
    assert {"open", "close", "ask", "setElder", "setLang"} <= set(api)
    root = page.locator("#zhitang-assistant")
    expect(root).to_have_count(1)

    page.evaluate("() => window.ZhitangWidget.open()")
    expect(root.locator(".zt-panel")).to_be_visible()
    expect(root.locator(".zt-launcher")).to_have_attribute("aria-expanded", "true")
    expect(root.locator(".zt-bot .zt-chip").first).to_be_visible(timeout=60_000)

    answer = page.evaluate(
        "async () => { await window.ZhitangWidget.ask('尊老金发了多少?');"
        " const texts = document.querySelectorAll('#zhitang-assistant .zt-bot .zt-text');"
        " return texts[texts.length - 1].textContent; }"
    )
    assert "1428.35万元" in answer  # the promise resolves once the answer is shown

    page.evaluate("() => window.ZhitangWidget.setElder(true)")
    expect(root).to_have_class("zt-widget zt-open zt-elder")
    expect(root.locator(".zt-elder-toggle")).to_have_attribute("aria-pressed", "true")
    page.evaluate("() => window.ZhitangWidget.setElder(false)")
    expect(root.locator(".zt-elder-toggle")).to_have_attribute("aria-pressed", "false")

    page.evaluate("() => window.ZhitangWidget.setLang('en')")
    expect(root.locator(".zt-send")).to_have_text("Send")
    expect(root).to_have_attribute("lang", "en")
    page.evaluate("() => window.ZhitangWidget.setLang('fr')")  # not a language of the widget: ignored
    expect(root.locator(".zt-send")).to_have_text("Send")
    page.evaluate("() => window.ZhitangWidget.setLang('zh-CN')")
    expect(root.locator(".zt-send")).to_have_text("发送")

    page.evaluate("() => window.ZhitangWidget.close()")
    expect(root.locator(".zt-panel")).to_be_hidden()
    expect(root.locator(".zt-launcher")).to_be_focused()

    # ask() on a closed panel opens it and asks
    page.evaluate("() => window.ZhitangWidget.ask('矛盾纠纷调解了多少件?')")
    expect(root.locator(".zt-panel")).to_be_visible()
    expect(root.locator(".zt-bot .zt-text").last).to_contain_text("1089")
    assert page.errors == []
