"""The live handover (转人工) in two headless Chromium profiles at once, on the gateway in front of the stack's real
Rasa, action server and KB: a resident in the widget asks for a person (Chinese, then English, the second in
elder mode), is queued with a place and a wait, a staff member signed in to the admin sees the conversation
arrive without a reload, takes it, and they write to each other (the resident's words reach the staff page
without a reload; the reply is marked "town staff", never with a name); staff close it and the widget offers the
rating. Outside the office hours (a holiday staff set) the widget offers to leave a message (留言) instead, whose
callback number staff see in full only on that message's page.

`ZHITANG_SCREENSHOTS=1` also writes docs/handover-resident.png and docs/handover-staff.png. The settings and rows
written here are removed afterwards.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from bot.office_hours import TOWN_TIME
from kb import handover as desk
from kb.db import session_factory
from kb.models import Handover, HandoverEvent, HandoverSettings, ResidentMessage, StaffUser
from kb.users import create_user
from tests.e2e.browser import open_widget, sign_in

expect.set_options(timeout=30_000)  # the first answers wait for Rasa's model; nothing here asserts a duration

DOCS = Path(__file__).resolve().parents[2] / "docs"
SHOOT = os.environ.get("ZHITANG_SCREENSHOTS") == "1"
PASSWORD = "e2e-agent-password"


def set_hours(kb_url: str, hours: str, holidays: str = "") -> None:
    with session_factory(kb_url)() as session, session.begin():
        desk.save_hours(session, hours, holidays, 10, "e2e")


@pytest.fixture(scope="module")
def agent(stack) -> Iterator[str]:
    """An editor who answers residents; afterwards the handover settings and rows are gone again."""
    username = f"agent-{uuid.uuid4().hex[:6]}"
    with session_factory(stack.kb_url)() as session, session.begin():
        create_user(session, username, PASSWORD, "editor")
    yield username
    with session_factory(stack.kb_url)() as session, session.begin():
        for table in (HandoverEvent, Handover, ResidentMessage, HandoverSettings):
            session.execute(sa.delete(table))
        session.execute(sa.delete(StaffUser).where(StaffUser.username == username))


@pytest.fixture
def two(browser, gateway) -> Iterator[tuple[Page, Page]]:
    """A resident's browser and a staff member's, each its own profile that reaches nothing but 127.0.0.1."""
    contexts, pages = [], []
    for locale in ("zh-CN", "zh-CN"):
        context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 768})
        context.route(lambda url: not url.startswith("http://127.0.0.1:"), lambda route: route.abort())
        contexts.append(context)
        tab = context.new_page()
        tab.errors = []
        tab.on("pageerror", lambda err, tab=tab: tab.errors.append(str(err)))
        pages.append(tab)
    yield pages[0], pages[1]
    for context in contexts:
        context.close()


def type_in_widget(page: Page, text: str) -> None:
    page.locator("#zt-input").fill(text)
    page.locator("#zt-input").press("Enter")
    expect(page.locator(".zt-typing")).to_be_hidden()


def shoot(page: Page, name: str) -> None:
    if SHOOT:
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(DOCS / name), animations="disabled", caret="hide")


@pytest.mark.parametrize(
    "lang, ask, mine, reply, texts",
    [
        (
            "zh",
            "我要找人工",
            "尊老金要带什么材料？我的电话13812345678",
            "您好，请带身份证和户口本到便民服务中心办理。",
            {"queued": "您排在第1位", "joined": "镇工作人员已接入", "from": "镇工作人员", "closed": "已结束本次对话"},
        ),
        (
            "en",
            "I want to speak to a human",
            "Which documents do I need for the elder allowance?",
            "Hello, please bring your ID card to the Public Service Centre.",
            {"queued": "you are number 1", "joined": "town staff has joined", "from": "Town staff", "closed": "ended"},
        ),
    ],
)
def test_a_resident_and_a_staff_member_talk_through_the_widget_and_the_admin(
    two, gateway, stack, agent, lang, ask, mine, reply, texts
):
    resident, staff = two
    set_hours(stack.kb_url, "每天 0:00-24:00")  # staff answer at any hour during this test
    sign_in(staff, gateway, agent, PASSWORD)
    staff.goto(f"{gateway}/admin/handover")
    expect(staff.locator("#handover-queue")).to_contain_text("暂时没有")

    resident.goto(f"{gateway}/")
    resident.evaluate("(lang) => localStorage.setItem('zhitang-assistant:lang', JSON.stringify(lang))", lang)
    resident.goto(f"{gateway}/")
    if lang == "en":
        resident.evaluate("() => window.ZhitangWidget.setElder(true)")
    open_widget(resident)
    type_in_widget(resident, ask)
    bar = resident.locator(".zt-handover")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text(texts["queued"])

    # the staff page gets the new conversation without a reload, and the staff member takes it
    expect(staff.locator("#handover-queue tbody tr[data-id]")).to_have_count(1)
    staff.locator("#handover-queue a", has_text="打开").click()
    staff.locator("#take").click()
    expect(resident.locator(".zt-notice").last).to_contain_text(texts["joined"])
    check_transfer_control(staff, stack.kb_url, agent)
    expect(bar).to_contain_text(texts["joined"])

    # the resident's message goes to staff (masked), not to the bot; it appears on the staff page without a reload
    bots = resident.locator(".zt-bot").count()
    type_in_widget(resident, mine)
    expect(staff.locator("#handover-log")).to_contain_text(mine.replace("13812345678", "138****5678"))
    assert resident.locator(".zt-bot").count() == bots  # the bot stayed silent

    # a reload mid-conversation: the widget resumes the stream from the last event it saw (nothing twice)
    resident.reload()
    expect(resident.locator("#zt-input")).to_be_visible()
    expect(bar).to_contain_text(texts["joined"])
    if lang == "en":  # elder mode: the way out of the chat with staff is a 60×60 target at least
        box = bar.locator(".zt-handover-cancel").bounding_box()
        assert box and box["width"] >= 60 and box["height"] >= 60

    staff.fill("#reply", reply)
    staff.locator("#send-reply").click()
    staff_reply = resident.locator(".zt-staff").last
    expect(staff_reply).to_contain_text(reply)
    resident.wait_for_timeout(1500)  # a few more polls of the stream: the reply is not shown twice
    expect(resident.locator(".zt-staff")).to_have_count(1)
    expect(staff_reply.locator(".zt-from")).to_have_text(texts["from"])
    assert agent not in resident.locator(".zt-log").inner_text()  # never a staff member's name
    if resident.evaluate("() => !!window.speechSynthesis"):
        expect(staff_reply.locator(".zt-read")).to_be_visible()  # read-aloud works for staff replies too
    if lang == "en":  # elder mode: the reply in 24 px text at least
        size = staff_reply.locator(".zt-text").evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)")
        assert size >= 24
    else:
        shoot(resident, "handover-resident.png")
        shoot(staff, "handover-staff.png")

    staff.locator("#close-handover").click()
    expect(resident.locator(".zt-notice").last).to_contain_text(texts["closed"])
    expect(bar).to_be_hidden()
    rating = resident.locator(".zt-rating-row .zt-level-2")
    expect(rating).to_be_visible()
    rating.click()
    expect(resident.locator(".zt-rating-row .zt-rating-status")).not_to_be_empty()

    # the bot answers again
    before = resident.locator(".zt-bot").count()
    type_in_widget(resident, "尊老金发了多少？" if lang == "zh" else "How much elder allowance was paid?")
    expect(resident.locator(".zt-bot")).to_have_count(before + 1)
    assert resident.errors == [] and staff.errors == []


def check_transfer_control(staff: Page, kb_url: str, agent: str) -> None:
    """Never an empty list: the other editors and admins to transfer to, or, when the agent is the only one (as
    when this module runs alone), the control disabled with the reason."""
    with session_factory(kb_url)() as session:
        others = session.scalars(
            sa.select(StaffUser.username).where(
                StaffUser.active.is_(True), StaffUser.role.in_(desk.AGENT_ROLES), StaffUser.username != agent
            )
        ).all()
    if others:
        expect(staff.locator("#transfer-to option")).to_have_count(len(others))
        return
    expect(staff.locator("#transfer-to")).to_have_count(0)
    expect(staff.locator("#transfer")).to_be_disabled()
    expect(staff.locator("#transfer-none")).to_contain_text("No other staff account")


def test_after_hours_an_english_resident_reads_the_hours_in_english_and_the_message_form_has_no_chinese(
    two, gateway, stack, agent
):
    resident, _ = two
    tomorrow = (datetime.now(TOWN_TIME).weekday() + 1) % 7
    set_hours(stack.kb_url, f"{'周' + '一二三四五六日'[tomorrow]} 9:00-10:00")  # staff typed it in Chinese
    resident.goto(f"{gateway}/")
    resident.evaluate("() => localStorage.setItem('zhitang-assistant:lang', JSON.stringify('en'))")
    resident.goto(f"{gateway}/")
    open_widget(resident)
    type_in_widget(resident, "I want to speak to a human")
    day = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[tomorrow]
    reply = resident.locator(".zt-bot .zt-text").last
    expect(reply).to_contain_text(f"Their hours (Beijing time): {day}, 9:00–10:00.")
    assert "周" not in reply.inner_text().splitlines()[0]
    form = resident.locator(".zt-leave")
    expect(form).to_be_visible()
    assert not re.search(r"[\u4e00-\u9fff]", form.inner_text()), form.inner_text()
    assert resident.errors == []


def test_outside_office_hours_the_resident_leaves_a_message_and_staff_see_the_number_only_on_its_page(
    two, gateway, stack, agent
):
    resident, staff = two
    today = datetime.now(TOWN_TIME).date().isoformat()
    set_hours(stack.kb_url, "每天 0:00-24:00", today)  # today is a holiday: nobody answers live
    resident.goto(f"{gateway}/")
    open_widget(resident)
    type_in_widget(resident, "我要找人工")
    expect(resident.locator(".zt-bot .zt-text").last).to_contain_text("节假日")
    form = resident.locator(".zt-leave")
    expect(form).to_be_visible()
    form.locator("#zt-leave-text").fill("请工作人员回电，想问医保报销的事。")
    form.locator("#zt-leave-phone").fill("13912345678")
    form.locator(".zt-leave-send").click()
    expect(form.locator(".zt-leave-status")).to_contain_text("同意回电")  # no consent, no number kept
    form.locator("#zt-leave-consent").check()
    form.locator(".zt-leave-send").click()
    expect(resident.locator(".zt-notice").last).to_contain_text("留言已收到")
    expect(resident.locator(".zt-leave")).to_have_count(0)

    sign_in(staff, gateway, agent, PASSWORD)
    staff.goto(f"{gateway}/admin/handover-messages")
    row = staff.locator("#left-messages tbody tr", has_text="医保报销")
    expect(row).to_contain_text("139****5678")
    assert "13912345678" not in staff.locator("#left-messages").inner_text()
    row.locator("a").click()
    expect(staff.locator("#callback")).to_contain_text("13912345678")
    staff.locator("#mark-done").click()
    expect(staff.locator("#left-messages")).not_to_contain_text("医保报销")
    assert resident.errors == [] and staff.errors == []
