"""A staff member in headless Chromium: sign in, set the elder allowance's office hours, ask the bot in the widget.

Runs on the gateway (with the admin mounted at /admin) in front of the stack's real Rasa, action server and KB.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from kb.db import session_factory
from kb.edits import restore_revision
from kb.models import Entry, Revision
from kb.users import create_user
from tests.e2e.browser import ask, local_tab, reopen_on

expect.set_options(timeout=30_000)  # the first answers wait for Rasa's model; nothing here asserts a duration

HOURS_ZH = "周一至周五 上午8:30-11:30,下午13:30-17:00"
HOURS_EN = "Monday to Friday, 8:30-11:30 and 13:30-17:00"
PASSWORD = "e2e-editor-password"


@pytest.fixture
def editor(stack) -> Iterator[str]:
    """An editor account in the stack's KB; afterwards the elder allowance is restored for the other tests."""
    username = f"e2e-{uuid.uuid4().hex[:8]}"
    with session_factory(stack.kb_url)() as session, session.begin():
        create_user(session, username, PASSWORD, "editor")
        first = session.scalar(select(Revision.id).where(Revision.entry_id == "elder_allowance").order_by(Revision.id))
    yield username
    with session_factory(stack.kb_url)() as session, session.begin():
        entry = session.get(Entry, "elder_allowance")
        restore_revision(session, first, entry.revision, "e2e-cleanup")


@pytest.fixture
def page(browser, gateway) -> Iterator[Page]:
    """A fresh browser profile that reaches nothing but 127.0.0.1; script and CSP errors are collected."""
    tab = local_tab(browser, viewport={"width": 1366, "height": 900})
    tab.on(
        "console", lambda msg: msg.type == "error" and "status of 400" not in msg.text and tab.errors.append(msg.text)
    )
    yield tab
    tab.context.close()


def test_staff_set_office_hours_and_the_bot_answers_with_them(page: Page, gateway: str, editor: str):
    """Sign in, set the elder allowance's office hours, then the widget's answer gives the new hours."""
    # Before: the bot (already running, its KB index loaded) honestly does not know the hours.
    reopen_on(page, gateway)
    answer = ask(page, "尊老金几点上班?")
    assert HOURS_ZH not in answer and "便民服务中心" in answer

    page.goto(f"{gateway}/admin/entry/list")
    expect(page).to_have_url(re.compile(r"/admin/login$"))  # signed out: the sign-in page

    page.fill("#username", editor)
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("Wrong username or password")

    page.fill("#username", editor)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#signed-in-as")).to_contain_text(editor)

    page.goto(f"{gateway}/admin/entry/list?search=尊老金")
    page.locator("a", has_text="Elder allowance").first.click()
    expect(page.locator("#staff-details")).to_contain_text("未填写")
    page.click("#edit-entry")
    page.fill("#hours_zh", HOURS_ZH)
    page.fill("#hours_en", HOURS_EN)
    page.click("#save")
    expect(page.locator("#staff-details")).to_contain_text(HOURS_ZH)
    expect(page.locator(".toast-body")).to_contain_text("已保存")
    assert page.errors == []  # the admin works under the gateway's Content-Security-Policy

    # After: the next question gets the new hours, with no retraining and no restart.
    reopen_on(page, gateway)
    answer = ask(page, "尊老金几点上班?")
    assert HOURS_ZH in answer
    assert "工作人员" in answer  # cited as provided by town staff
    answer = ask(page, "What are the opening hours for the elder allowance?")
    assert HOURS_EN in answer
