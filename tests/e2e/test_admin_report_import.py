"""A clerk brings in next year's report in headless Chromium (Debian's), on the gateway in front of the stack's
real Rasa, action server and KB: uploads the MADE-UP test report (tests/fixtures), reviews the proposals (the old
fact beside the new sentence, the new figure highlighted), accepts one update, then the rest, and the widget
answers with the new year's figure at the next question and with the previous year's on request; no retraining.

`ZHITANG_SCREENSHOTS=1` also writes docs/admin-report-review.png. Afterwards the stack's KB is as before: the entries restored to their revisions from before, the made-up
report, its sentences and its facts deleted.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from kb.build import bump_version
from kb.db import session_factory
from kb.models import Fact, Report, ReportSentence
from kb.users import create_user
from tests.e2e.admin_data import entry_revisions, restore_entries
from tests.e2e.browser import ask, local_tab, reopen_on

expect.set_options(timeout=30_000)  # the first answers wait for Rasa's model; nothing here asserts a duration

REPORT = Path(__file__).resolve().parents[1] / "fixtures" / "made-up-test-report-2023.txt"
DOCS = Path(__file__).resolve().parents[2] / "docs"
YEAR = "2023"  # the made-up fixture's year
PASSWORD = "e2e-report-clerk-password"


@pytest.fixture(scope="module")
def clerk(stack) -> Iterator[str]:
    """An editor of the stack's KB; afterwards the KB is as it was before the import."""
    username = f"reports-{uuid.uuid4().hex[:6]}"
    with session_factory(stack.kb_url)() as session, session.begin():
        create_user(session, username, PASSWORD, "editor")
        mark, before = entry_revisions(session)
    yield username
    with session_factory(stack.kb_url)() as session, session.begin():
        restore_entries(session, mark, before)
        session.execute(sa.delete(Fact).where(Fact.report_year == int(YEAR)))
        session.execute(sa.delete(ReportSentence).where(ReportSentence.report_year == int(YEAR)))
        session.execute(sa.delete(Report).where(Report.year == int(YEAR)))
        bump_version(session)


@pytest.fixture
def page(browser, gateway) -> Iterator[Page]:
    """A fresh browser profile at 1366×768 that reaches nothing but 127.0.0.1; script errors collected."""
    tab = local_tab(browser, viewport={"width": 1366, "height": 768})
    yield tab
    tab.context.close()


def test_a_clerk_imports_next_years_report_and_the_widget_answers_by_year(page: Page, gateway: str, clerk: str):
    reopen_on(page, gateway)
    assert "1428.35万元" in ask(page, "尊老金发了多少钱")  # before: the only report's figure

    page.goto(f"{gateway}/admin/login")
    page.fill("#username", clerk)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#signed-in-as")).to_contain_text(clerk)
    page.get_by_role("link", name="新年度报告 New year's report").click()
    page.fill("#year", YEAR)
    page.set_input_files("#file", str(REPORT))
    page.click("#review")

    update = page.locator('.proposal-update[data-entry="elder_allowance"][data-fact="amount"]')
    expect(update.locator(".old-fact")).to_contain_text("1428.35万元")
    expect(update.locator(".new-sentence mark.new-figure")).to_have_text("1502.6万元")
    expect(page.locator("#plan-counts")).to_contain_text("更新 updates")
    if os.environ.get("ZHITANG_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / "admin-report-review.png"), animations="disabled", caret="hide")
    update.get_by_role("button", name="接受 Accept").click()
    expect(page.locator("#accepted")).to_contain_text("1502.6万元")
    expect(page.locator('.proposal-update[data-entry="elder_allowance"][data-fact="amount"]')).to_have_count(0)
    page.click("#accept-updates")
    expect(page.locator("#accepted")).to_contain_text("Accepted")
    expect(page.locator('.proposal-update[data-entry="elder_allowance"]')).to_have_count(0)
    page.goto(f"{gateway}/admin/reports")
    expect(page.locator("#reports")).to_contain_text(clerk)
    assert page.errors == []

    reopen_on(page, gateway)
    newest = ask(page, "尊老金发了多少钱")
    assert "1502.6万元" in newest and f"{YEAR}年" in newest and "1428.35" not in newest
    previous = ask(page, "去年呢")
    assert "1428.35万元" in previous and "2022" in previous
    compared = ask(page, "尊老金比2022年多了吗")
    assert "74.25万元" in compared and "计算" in compared
    page.locator("#zt-input").fill("")
    english = ask(page, "How much elder allowance was paid?")
    assert "15.026 million" in english and YEAR in english
    assert "14.2835 million" in ask(page, "what about 2022?")
