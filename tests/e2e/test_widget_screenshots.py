"""Screenshots of the widget for docs/ (desktop, 360 px phone, elder mode): `ZHITANG_SCREENSHOTS=1 pytest -k shots`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.skipif(
    os.environ.get("ZHITANG_SCREENSHOTS") != "1", reason="writes docs/*.png: set ZHITANG_SCREENSHOTS=1"
)


def converse(page, question: str | None = None, topic: str | None = None, source: bool = False) -> None:
    """Open the widget, ask a question or click a topic, wait for the answer, optionally open its source."""
    page.locator(".zt-launcher").click()
    expect(page.locator(".zt-bot .zt-chip").first).to_be_visible(timeout=30_000)
    if topic:
        page.locator(".zt-bot .zt-chip", has_text=topic).first.click()
    if question:
        page.locator("#zt-input").fill(question)
        page.locator("#zt-input").press("Enter")
    expect(page.locator(".zt-bot")).to_have_count(2, timeout=30_000)
    expect(page.locator(".zt-typing")).to_be_hidden()
    if source:
        page.locator(".zt-bot").last.locator(".zt-source summary").click()
    page.locator("#zt-input").blur()
    page.mouse.move(0, 0)


def shoot(page, name: str) -> None:
    """Save a screenshot in docs/."""
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / name), animations="disabled", caret="hide")


def test_shots_desktop(browser, gateway):
    """The town page at 1366 px with a Chinese answer and its source quote open."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 860}, reduced_motion="reduce")
    page = context.new_page()
    page.goto(gateway)
    converse(page, question="尊老金发了多少?", source=True)
    shoot(page, "widget-desktop.png")
    context.close()


def test_shots_mobile(browser, gateway):
    """A 360 px phone: the panel fills the screen."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 360, "height": 740}, device_scale_factor=2, reduced_motion="reduce"
    )
    page = context.new_page()
    page.goto(gateway)
    converse(page, topic="医保")
    shoot(page, "widget-mobile.png")
    context.close()


def test_shots_elder_mode(browser, gateway):
    """Elder mode: large text, high contrast."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 860}, reduced_motion="reduce")
    page = context.new_page()
    page.goto(gateway)
    page.locator("#elder-link").click()  # the page's own 长辈模式 switch turns on the widget's too
    converse(page, question="村里有法律顾问吗?")
    shoot(page, "widget-elder.png")
    context.close()
