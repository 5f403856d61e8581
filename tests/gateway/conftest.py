"""A gateway app on an in-process ASGI transport, with Rasa faked by respx and the limits set per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import respx

from bot import settings
from bot.web.app import create_app
from bot.web.gateway.ratelimit import RateLimiter

FAKE_RASA = "http://rasa.test"
WEBHOOK = f"{FAKE_RASA}/webhooks/rest/webhook"
SESSION = "a1b2c3d4e5f6a7b8"

ANSWER = [
    {
        "recipient_id": SESSION,
        "text": "2022年,支塘镇发放尊老金1428.35万元。",
        "buttons": [{"title": "查看原文出处", "payload": "/show_source"}],
    },
    {
        "recipient_id": SESSION,
        "custom": {
            "kind": "answer",
            "entry": "elder_allowance",
            "source": {
                "type": "report",
                "entry": "elder_allowance",
                "fact": "amount",
                "report": {"zh": "2022年支塘镇政府工作报告", "en": "Zhitang Town 2022 Government Work Report"},
                "quote": "发放尊老金1428.35万元",
                "sentence": "提升老年服务,发放尊老金1428.35万元,受益老人21389人。",
            },
        },
    },
]


@pytest.fixture
def rasa() -> respx.MockRouter:
    """A fake Rasa REST channel answering the elder-allowance question; tests change its reply."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(WEBHOOK, name="webhook").mock(return_value=httpx.Response(200, json=ANSWER))
        yield router


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch) -> Callable[..., httpx.AsyncClient]:
    """make_client(session_limit=..., address_limit=..., address=..., rasa_url=..., limiter=...): a client of a
    fresh app (a given limiter replaces the two limits)."""
    clients: list[httpx.AsyncClient] = []

    def _make(
        session_limit: str = "100/minute",
        address_limit: str = "1000/minute",
        address: str = "203.0.113.7",
        rasa_url: str = FAKE_RASA,
        timeout: float = 2.0,
        limiter: RateLimiter | None = None,
    ) -> httpx.AsyncClient:
        monkeypatch.setattr(settings, "RASA_URL", rasa_url)
        monkeypatch.setattr(settings, "RASA_TIMEOUT", timeout)
        limiter = limiter or RateLimiter({"session": session_limit, "address": address_limit}, "memory://")
        app = create_app(limiter=limiter)
        transport = httpx.ASGITransport(app, raise_app_exceptions=False, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        client.app = app
        clients.append(client)
        return client

    return _make


@pytest.fixture
async def client(make_client, rasa) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a gateway whose Rasa is the fake."""
    yield make_client()


@pytest.fixture
def answer() -> list[dict]:
    """What the fake Rasa answers: a text with buttons, then its custom payload."""
    return ANSWER
