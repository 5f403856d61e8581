"""Small parts of the gateway: message merging, language choice, rate limiter, pages and the admin hook."""

from __future__ import annotations

import re

import httpx

from bot.web import app as web_app
from bot.web.gateway.i18n import MESSAGES
from bot.web.gateway.rasa_client import merge_messages
from bot.web.gateway.ratelimit import RateLimiter


def test_merge_joins_each_custom_to_the_text_before_it():
    """text, custom, text, text, custom -> three messages, customs on the first and third."""
    raw = [
        {"text": "一", "buttons": [{"title": "A", "payload": "/a", "extra": 1}, {"title": 2}]},
        {"custom": {"kind": "answer", "entry": "e1", "source": {"type": "report", "quote": "q", "secret": "x"}}},
        {"text": "二"},
        {"text": "三"},
        {"custom": {"kind": "dont_know", "entry": None, "source": None}},
    ]
    assert merge_messages(raw) == [
        {"text": "一", "buttons": [{"title": "A", "payload": "/a"}], "source": {"type": "report", "quote": "q"}}
        | {"kind": "answer", "entry": "e1"},
        {"text": "二", "buttons": [], "source": None, "kind": None, "entry": None},
        {"text": "三", "buttons": [], "source": None, "kind": "dont_know", "entry": None},
    ]


def test_merge_drops_what_the_widget_cannot_show():
    """Images, lone customs, non-dicts: nothing to show (the gateway then says 'unavailable')."""
    assert merge_messages([{"image": "x.png"}, "junk", {"custom": {"kind": "answer"}}, None]) == []


def test_every_message_has_both_languages():
    """No gateway message is missing its Chinese or English."""
    for key, texts in MESSAGES.items():
        assert set(texts) == {"zh", "en"} and all(texts.values()), key


async def test_rate_limiter_counts_per_key():
    """Each key has its own window; a refusal says how long to wait."""
    limiter = RateLimiter({"session": "2/minute", "address": "10/minute"}, "memory://")
    assert (await limiter.hit("session", "a")).allowed
    assert (await limiter.hit("session", "a")).allowed
    refused = await limiter.hit("session", "a")
    assert not refused.allowed and 1 <= refused.retry_after <= 60
    assert (await limiter.hit("session", "b")).allowed
    await limiter.reset()
    assert (await limiter.hit("session", "a")).allowed


async def test_town_page_and_widget_assets_are_served_locally(client):
    """The page loads the widget with one script tag; every asset it names is served by the gateway."""
    page = await client.get("/")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'<script src="/static/widget\.js\?v=\w+" data-gateway="" data-lang="auto" defer>', html)
    assert not re.search(r'(src|href)="(https?:)?//', html), "no CDN, no external asset"
    assert "<script>" not in html and " style=" not in html, "no inline script or style (the CSP forbids them)"
    for asset in re.findall(r'(?:src|href)="(/static/[^"?]+)', html):
        response = await client.get(asset)
        assert response.status_code == 200, asset
    widget = (await client.get("/static/widget.js")).text
    assert ".innerHTML" not in widget and "insertAdjacentHTML" not in widget and "eval(" not in widget
    headers = page.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] and headers["permissions-policy"]
    assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_web_app_serves_the_gateway_and_the_admin(kb_url):
    """One app made by one factory: the residents' routes and the staff admin (no import hooks)."""
    app = web_app.create_app(kb_url=kb_url)
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.post("/api/feedback", json={"rating": "meh"})).status_code == 400
        assert (await client.get("/admin/")).status_code in (302, 303)
        assert (await client.get("/static/widget.js")).status_code == 200
