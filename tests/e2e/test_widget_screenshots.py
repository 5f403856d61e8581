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


DESKTOP = {"width": 1366, "height": 860}
PHONE = {"width": 360, "height": 740}


@pytest.mark.parametrize(
    "name, viewport, elder, talk",
    [
        # The town page at 1366 px with a Chinese answer and its source quote open.
        ("widget-desktop.png", DESKTOP, False, {"question": "尊老金发了多少?", "source": True}),
        # A 360 px phone: the panel fills the screen.
        ("widget-mobile.png", PHONE, False, {"topic": "医保"}),
        # Elder mode (the page's own 长辈模式 switch turns on the widget's too): large text, high contrast.
        ("widget-elder.png", DESKTOP, True, {"question": "村里有法律顾问吗?"}),
        # Elder mode on a 360×740 phone: one row of icons, the privacy reminder, room for the conversation.
        ("widget-elder-mobile.png", PHONE, True, {"question": "尊老金发了多少?"}),
    ],
)
def test_shots(browser, gateway, name, viewport, elder, talk):
    context = browser.new_context(
        locale="zh-CN", viewport=viewport, device_scale_factor=2 if viewport is PHONE else 1, reduced_motion="reduce"
    )
    page = context.new_page()
    page.goto(gateway)
    if elder:
        page.locator("#elder-link").click()
    converse(page, **talk)
    shoot(page, name)
    context.close()
