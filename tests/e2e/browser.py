"""What the browser tests do in the widget, written once: open it, ask, read what it keeps in localStorage."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Browser, Page, expect

PREFIX = "zhitang-assistant:"  # the widget's localStorage keys


def open_widget(page: Page) -> None:
    """Click the launcher and wait for the greeting with its suggested topics."""
    page.locator(".zt-launcher").click()
    expect(page.locator(".zt-bot .zt-chip").first).to_be_visible()


def reopen_on(page: Page, gateway: str) -> None:
    """The town page with the chat widget open (it reopens by itself when the conversation was open)."""
    page.goto(f"{gateway}/")
    page.wait_for_selector(".zt-launcher:visible, #zt-input:visible")
    if not page.locator("#zt-input").is_visible():
        page.locator(".zt-launcher").click()
    expect(page.locator("#zt-input")).to_be_visible()
    expect(page.locator(".zt-bot .zt-text").first).to_be_visible()  # the greeting (or the kept conversation)


def ask(page: Page, text: str) -> str:
    """Type a question, press Enter, wait for the answer; the last bot message's text."""
    before = page.locator(".zt-bot").count()
    page.locator("#zt-input").fill(text)
    page.locator("#zt-input").press("Enter")
    expect(page.locator(".zt-bot")).not_to_have_count(before)
    expect(page.locator(".zt-typing")).to_be_hidden()
    return page.locator(".zt-bot .zt-text").last.inner_text()


def stored(page: Page, name: str) -> Any:
    """One value the widget keeps in localStorage, parsed (None when absent)."""
    return json.loads(page.evaluate("(key) => localStorage.getItem(key)", f"{PREFIX}{name}") or "null")


def everything_stored(page: Page) -> dict[str, str]:
    """Everything the widget keeps in localStorage, raw."""
    return page.evaluate(
        "(prefix) => Object.fromEntries(Object.keys(localStorage).filter((k) => k.startsWith(prefix))"
        ".map((k) => [k.slice(prefix.length), localStorage.getItem(k)]))",
        PREFIX,
    )


def sign_in(page: Page, gateway: str, username: str, password: str) -> None:
    """Sign a staff member in to the admin and wait for their name in the sidebar."""
    page.goto(f"{gateway}/admin/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page.locator("#signed-in-as")).to_contain_text(username)


def local_tab(browser: Browser, **options: Any) -> Page:
    """A tab in a fresh browser profile (zh-CN unless told) that reaches nothing but 127.0.0.1, with the page's
    script errors collected in `tab.errors`; close it with `tab.context.close()`."""
    context = browser.new_context(**{"locale": "zh-CN", **options})
    context.route(lambda url: not url.startswith("http://127.0.0.1:"), lambda route: route.abort())
    tab = context.new_page()
    tab.errors = []  # type: ignore[attr-defined]
    tab.on("pageerror", lambda err: tab.errors.append(str(err)))  # type: ignore[attr-defined]
    return tab
