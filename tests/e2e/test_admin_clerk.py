"""A clerk's working day in headless Chromium (Debian's, never a downloaded one), on the gateway in front of the
stack's real Rasa, action server and KB: the start page's charts and CSV; dismissing a group of off-topic questions,
one and several at once; writing an answer that the widget gives at the next question; what to fill first, one
click to the form; a resident's 不满意 rating followed up with its conversation. Every admin page is measured at
1366×768 and 1920×1080: no table wider than its card, no entry id outside a detail line, the sidebar's background
to the bottom, Restore at the top of a revision, no Actions menu or row checkboxes that never work.

`ZHITANG_SCREENSHOTS=1` also writes docs/admin-*.png and docs/widget-rating.png. Afterwards the KB and the tracker
store are as before: entries restored or retired, seeded rows deleted.
"""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from kb import handover
from kb.db import session_factory
from kb.edits import update_entry
from kb.models import Entry, Feedback, FieldGap, HandoverSettings, Revision, Satisfaction, UnansweredQuestion
from kb.users import create_user
from tests.e2e.admin_data import SEEDED, restore_entries, seed_kb, seed_tracker
from tests.e2e.browser import ask, open_widget, reopen_on, sign_in, stored

expect.set_options(timeout=30_000)  # the first answers wait for Rasa's model; nothing here asserts a duration

DOCS = Path(__file__).resolve().parents[2] / "docs"
SHOOT = os.environ.get("ZHITANG_SCREENSHOTS") == "1"
PASSWORD = "e2e-clerk-password"
BENEFITS = "支塘镇的老年人每月可以领尊老金，还可以去日间照料中心，或申请居家养老上门服务。"
PAID = "尊老金每年1月和7月分两次发到老人的社保卡上。"
TABLES = (
    "([...document.querySelectorAll('table')].map((t) => { const card = t.closest('.card');"
    " return {id: t.id || t.className, table: Math.round(t.getBoundingClientRect().width),"
    " scroll: t.scrollWidth, card: card ? Math.round(card.getBoundingClientRect().width) : 0}; }))"
)
VISIBLE_TEXT = (
    "(() => { const out = []; const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);"
    " while (walk.nextNode()) { const node = walk.currentNode; const el = node.parentElement;"
    " if (!el || el.closest('.zt-id, script, style, option, [hidden]')) continue;"
    " if (!el.getClientRects().length) continue; out.push(node.textContent); } return out.join(' '); })()"
)


@pytest.fixture(scope="module")
def clerk(stack) -> Iterator[str]:
    """An editor in the stack's KB, which holds a working day's queue, field gaps, feedback and ratings, with a
    month of conversations in the tracker store; afterwards everything is as it was."""
    username = f"clerk-{uuid.uuid4().hex[:6]}"
    with session_factory(stack.kb_url)() as session, session.begin():
        create_user(session, username, PASSWORD, "editor")
        marks = {
            table: session.scalar(sa.select(sa.func.max(table.id))) or 0
            for table in (UnansweredQuestion, Feedback, Satisfaction, FieldGap, Revision)
        }
        before = {e.id: e.revision for e in session.scalars(sa.select(Entry))}
    seed_kb(stack.kb_url)
    seed_tracker(stack.tracker_db)
    yield username
    with session_factory(stack.kb_url)() as session, session.begin():
        restore_entries(session, marks[Revision], before)
        for table in (UnansweredQuestion, Feedback, Satisfaction, FieldGap):
            session.execute(sa.delete(table).where(table.id > marks[table]))
    engine = sa.create_engine(f"sqlite:///{stack.tracker_db}")
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM events WHERE sender_id LIKE ?", (f"{SEEDED}%",))
    engine.dispose()


@pytest.fixture
def page(browser, gateway) -> Iterator[Page]:
    """A fresh browser profile at 1366×768 that reaches nothing but 127.0.0.1; script and CSP errors collected."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768}, accept_downloads=True)
    context.route(lambda url: not url.startswith("http://127.0.0.1:"), lambda route: route.abort())
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda err: tab.errors.append(str(err)))
    tab.on("console", lambda msg: msg.type == "error" and "status of 4" not in msg.text and tab.errors.append(msg.text))
    yield tab
    context.close()


def shoot(page: Page, name: str, full_page: bool = True) -> None:
    """docs/<name> when screenshots are asked for."""
    if SHOOT:
        page.screenshot(path=str(DOCS / name), full_page=full_page, animations="disabled", caret="hide")


def row(page: Page, text: str):
    """The queue's row whose question (or one of its wordings) is `text`."""
    return page.locator("#questions tbody tr", has_text=text)


def test_the_start_page_shows_the_month_in_charts_and_exports_the_numbers(page: Page, gateway: str, clerk: str):
    sign_in(page, gateway, clerk, PASSWORD)
    for chart in ("days", "outcomes", "topics", "unanswered", "languages", "hours", "satisfaction"):
        expect(page.locator(f"#chart-{chart} svg[role=img]")).to_be_visible()
    assert int(page.locator("#stat-questions").inner_text()) >= 700  # the month written in (greetings not counted)
    expect(page.locator("#chart-unanswered svg")).to_contain_text("明天会下雨吗")
    expect(page.locator("#fill-first-top a").first).to_contain_text("便民服务中心")
    with page.expect_download() as download:
        page.click("#csv-export")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["section", "item", "value"]
    assert sum(int(r[2]) for r in rows if r[0] == "questions_per_day") == int(
        page.locator("#stat-questions").inner_text()
    )
    assert {r[0] for r in rows} >= {"questions_per_day", "outcome", "thumbs_down", "top_unanswered", "language", "hour"}
    shoot(page, "admin-dashboard.png")
    assert page.errors == []


def test_off_topic_questions_are_dismissed_one_group_or_several_at_once(page: Page, gateway: str, clerk: str):
    sign_in(page, gateway, clerk, PASSWORD)
    page.goto(f"{gateway}/admin/unanswered-question/list")
    rain = row(page, "明天会下雨吗")
    expect(rain).to_have_count(1)  # three wordings, one row
    expect(rain.locator(".badge")).to_have_text("19")
    shoot(page, "admin-queue.png")
    rain.locator("summary").click()
    expect(rain).to_contain_text("明天會下雨嗎")
    rain.get_by_role("button", name="忽略 Dismiss").click()
    rain.get_by_role("button", name="无关 Off-topic").click()
    expect(page.locator(".toast-body")).to_contain_text("已忽略 3 个问题")
    expect(row(page, "明天会下雨吗")).to_have_count(0)

    # several at once: tick, choose the reason, one button
    bulk = page.locator("#bulk-dismiss")
    expect(bulk).to_be_disabled()
    row(page, "加微信领红包").locator(".group-box").check()
    row(page, "where do I park my bike").locator(".group-box").check()
    expect(page.locator("#bulk-count")).to_contain_text("2")
    page.select_option("#bulk-reason", "spam")
    bulk.click()
    expect(page.locator(".toast-body")).to_contain_text("已忽略 2 个问题")
    expect(row(page, "加微信领红包")).to_have_count(0)

    page.goto(f"{gateway}/admin/unanswered-question/list?status=dismissed")
    expect(row(page, "明天会下雨吗")).to_contain_text(clerk)  # who
    expect(row(page, "明天会下雨吗")).to_contain_text("无关 Off-topic")  # why
    expect(row(page, "where do I park my bike")).to_contain_text("垃圾信息 Spam")
    assert page.errors == []


def test_a_written_answer_is_given_by_the_widget_at_the_next_question(page: Page, gateway: str, clerk: str):
    # a resident asks; the bot does not know
    page.goto(f"{gateway}/")
    open_widget(page)
    assert BENEFITS not in ask(page, "老年人有哪些福利")

    sign_in(page, gateway, clerk, PASSWORD)
    page.goto(f"{gateway}/admin/unanswered-question/list")
    row(page, "老年人有哪些福利").get_by_role("link", name="写回答 Write an answer").click()
    expect(page.locator("#wording")).to_have_value("老年人有哪些福利")
    page.check("#mode-entry")
    expect(page.locator("#answer-fact")).to_be_hidden()
    page.select_option("#topic", "elder_care")
    page.fill("#title_zh", "老年人福利一览")
    page.fill("#title_en", "Benefits for older residents")
    page.fill("#summary_zh", BENEFITS)
    page.fill("#summary_en", "Older residents receive the elder allowance monthly and can use day care and home care.")
    shoot(page, "admin-answer.png")
    page.click("#save-answer")
    expect(page.locator(".toast-body")).to_contain_text("已保存")
    expect(page.locator(".card-title").first).to_contain_text("老年人福利一览")

    # a fact on an existing entry, from another question
    page.goto(f"{gateway}/admin/unanswered-question/list")
    row(page, "尊老金每年几月份发放").get_by_role("link", name="写回答 Write an answer").click()
    expect(page.locator("input[name=entry_id][value=elder_allowance]")).to_be_checked()
    page.fill("#fact_zh", PAID)
    page.fill("#fact_en", "The elder allowance reaches the senior's social security card in January and July.")
    page.click("#save-answer")
    expect(page.locator("#facts")).to_contain_text(PAID)

    # the resident asks again: answered, with no retraining and no restart
    reopen_on(page, gateway)
    assert BENEFITS in ask(page, "老年人有哪些福利")
    answer = ask(page, "尊老金每年几月份发放?")
    assert PAID in answer and "工作人员" in answer  # cited as provided by town staff
    assert page.errors == []


def test_what_to_fill_first_leads_with_the_service_centre_and_opens_its_form(page: Page, gateway: str, clerk: str):
    sign_in(page, gateway, clerk, PASSWORD)
    page.goto(f"{gateway}/admin/fill-first")
    first = page.locator("#fill-first tbody tr").first
    expect(first).to_contain_text("便民服务中心")  # every resident the bot cannot help is sent there
    label = first.locator("td").nth(1).inner_text()
    shoot(page, "admin-fill-first.png")
    first.get_by_role("link", name="填写 Fill in").click()
    expect(page).to_have_url(re.compile(r"/admin/entry/edit/service_centre#(phone|address|hours)_zh$"))
    field = page.url.rsplit("#", 1)[1]
    page.fill(f"#{field}", "0512-00000000" if field == "phone_zh" else "测试数据 test value")
    page.click("#save")
    expect(page.locator(".toast-body")).to_contain_text("已保存")
    shoot(page, "admin-entry-saved.png")
    page.goto(f"{gateway}/admin/fill-first")
    centre = page.locator("#fill-first tbody tr", has_text="便民服务中心")
    expect(centre.filter(has_text=label)).to_have_count(0)  # filled: off the list
    assert page.errors == []


def test_a_bad_rating_reaches_the_follow_up_list_with_its_conversation(
    browser, page: Page, gateway: str, clerk: str, stack
):
    page.goto(f"{gateway}/")
    open_widget(page)
    ask(page, "尊老金发了多少?")
    page.locator(".zt-close").click()
    card = page.locator(".zt-rate-card")
    expect(card).to_be_visible()  # the conversation ended: its rating, optional, one tap
    expect(page.locator(".zt-launcher")).to_be_focused()
    shoot(page, "widget-rating.png", full_page=False)
    card.get_by_role("button", name="不满意", exact=True).click()
    expect(card.locator(".zt-rating-status")).to_contain_text("谢谢")

    # after a handover (town staff took the conversation and closed it) the rating comes under the closing notice
    page.locator(".zt-launcher").click()
    page.locator(".zt-new").click()
    expect(page.locator(".zt-user")).to_have_count(0)
    expect(page.locator(".zt-bot .zt-chip").first).to_be_visible()  # greeted: a new conversation
    with session_factory(stack.kb_url)() as session, session.begin():
        handover.save_hours(session, "每天 0:00-24:00", "", 10, clerk)  # staff answer at any hour in this test
    try:
        ask(page, "转人工")
        expect(page.locator(".zt-handover")).to_be_visible()
        with session_factory(stack.kb_url)() as session, session.begin():
            queued = handover.open_handover_of(session, stored(page, "session"))
            handover.take(session, queued.id, clerk)
            handover.close(session, queued.id, clerk)
        expect(page.locator(".zt-rating-row .zt-level")).to_have_count(5)
    finally:
        with session_factory(stack.kb_url)() as session, session.begin():
            session.execute(sa.delete(HandoverSettings))

    sign_in(page, gateway, clerk, PASSWORD)
    page.goto(f"{gateway}/admin/satisfaction")
    mine = page.locator("#ratings tbody tr", has_text="不满意 Dissatisfied").last
    expect(mine).to_contain_text("对话结束时")
    shoot(page, "admin-follow-ups.png")
    page.locator("#ratings tbody tr a").last.click()
    expect(page.locator("#transcript")).to_contain_text("尊老金发了多少?")
    page.fill("#note", "已电话联系居民，说明了尊老金的发放情况。")
    shoot(page, "admin-follow-up.png")
    page.click("#mark-followed-up")
    expect(page.locator(".toast-body")).to_contain_text("已记录回访")
    page.goto(f"{gateway}/admin/satisfaction?done=1")
    expect(page.locator("#ratings")).to_contain_text(clerk)
    assert page.errors == []


PAGES = [
    "/admin/",
    "/admin/entry/list",
    "/admin/entry/details/elder_allowance",
    "/admin/entry/edit/elder_allowance",
    "/admin/entry/create",
    "/admin/fact/list",
    "/admin/fact/create",
    "/admin/revision/list",
    "/admin/unanswered-question/list",
    "/admin/unanswered-question/list?status=dismissed",
    "/admin/unanswered-question/list?status=answered",
    "/admin/fill-first",
    "/admin/feedback/list",
    "/admin/satisfaction",
    "/admin/satisfaction?done=1",
    "/admin/conversations",
    "/admin/exchange",
]


@pytest.mark.parametrize("width, height", [(1366, 768), (1920, 1080)])
def test_every_page_fits_its_cards_and_names_entries(browser, gateway: str, clerk: str, stack, width, height):
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
    context.route(lambda url: not url.startswith("http://127.0.0.1:"), lambda route: route.abort())
    page = context.new_page()
    sign_in(page, gateway, clerk, PASSWORD)
    with session_factory(stack.kb_url)() as session:
        ids = [i for i in session.scalars(sa.select(Entry.id)) if "_" in i]  # one-word ids are ordinary words
        question = session.scalar(
            sa.select(sa.func.min(UnansweredQuestion.id)).where(UnansweredQuestion.entry_id.is_(None))
        )
        revision = session.scalar(sa.select(sa.func.max(Revision.id)).where(Revision.entry_id == "elder_allowance"))
        first = session.scalar(sa.select(sa.func.min(Revision.id)).where(Revision.entry_id == "elder_allowance"))
        fact = session.scalar(sa.text("SELECT min(id) FROM fact WHERE entry_id = 'elder_allowance'"))
        rating = session.scalar(sa.select(sa.func.min(Satisfaction.id)).where(Satisfaction.level == "dissatisfied"))
    pages = PAGES + [
        f"/admin/fact/details/{fact}",
        f"/admin/fact/edit/{fact}",
        f"/admin/revision/details/{revision}",
        f"/admin/revision/details/{first}",
        f"/admin/unanswered-question/answer/{question}",
        f"/admin/unanswered-question/attach/{question}",
        f"/admin/satisfaction/{rating}",
    ]
    measured = []
    for path in pages:
        page.goto(gateway + path)
        expect(page.locator("#signed-in-as")).to_be_visible()
        tables = page.evaluate(TABLES)
        for table in tables:
            assert table["scroll"] <= table["card"] + 1 and table["table"] <= table["card"] + 1, (path, table)
        measured.append((path, [(t["id"], t["scroll"], t["card"]) for t in tables]))
        text = page.evaluate(VISIBLE_TEXT)
        shown = sorted({i for i in ids if re.search(rf"(?<![\w/]){re.escape(i)}(?!\w)", text)})
        assert shown == [], (path, shown)
        sidebar = page.evaluate(
            "(() => [document.querySelector('aside').getBoundingClientRect().height,"
            " document.documentElement.scrollHeight])()"
        )
        assert sidebar[0] >= sidebar[1] - 1, (path, sidebar)  # its background to the bottom of the page
        assert page.locator("#dropdownMenuButton, .select-box, #select-all").count() == 0, path  # dead controls gone
        overflowing = page.evaluate(
            "[...document.querySelectorAll('.card')].filter((c) => c.scrollWidth > c.clientWidth + 1).length"
        )
        assert overflowing == 0, path  # nothing else sticks out of a card either (buttons, charts)
    with session_factory(stack.kb_url)() as session, session.begin():  # a later revision, so the first restores
        hours = {"hours": {"zh": f"测试数据 {width}", "en": f"test value {width}"}}
        update_entry(session, "elder_allowance", {"staff": hours}, None, "e2e-test")
    page.goto(f"{gateway}/admin/revision/details/{first}")
    assert page.locator("#restore").bounding_box()["y"] < 300  # Restore near the top, before the changes
    print(f"\n{width}×{height} tables (scroll width, card width):")
    for path, tables in measured:
        print(f"  {path}: {tables}")
    if SHOOT and width == 1366:
        for path, name in [
            ("/admin/entry/list", "admin-entries.png"),
            ("/admin/entry/edit/elder_allowance", "admin-edit-entry.png"),
            (f"/admin/fact/edit/{fact}", "admin-edit-fact.png"),
            ("/admin/feedback/list", "admin-feedback.png"),
            (f"/admin/revision/details/{first}", "admin-revision.png"),
            (f"/admin/unanswered-question/attach/{question}", "admin-attach.png"),
        ]:
            page.goto(gateway + path)
            shoot(page, name)
        with session_factory(stack.kb_url)() as session, session.begin():  # an admin sees the staff accounts
            create_user(session, f"boss-{clerk}", PASSWORD, "admin")
        page.goto(f"{gateway}/admin/logout")
        page.fill("#username", clerk)
        page.fill("#password", "not the password")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_be_visible()
        shoot(page, "admin-login-wrong-password.png", full_page=False)
        sign_in(page, gateway, f"boss-{clerk}", PASSWORD)
        page.goto(f"{gateway}/admin/staff-user/list")
        shoot(page, "admin-staff-accounts.png")
    context.close()
