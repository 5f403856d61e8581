"""Deeply nested JSON is a 400 from /api/chat and /api/feedback, and every refused request counts in the rate limit.

Finding 6 of issue 10: `[` five thousand times sent to /api/chat or /api/feedback answered 503 with a traceback in
the log, before any rate limit applied.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import respx

from bot import settings
from bot.web.app import create_app
from bot.web.gateway.ratelimit import RateLimiter
from kb.db import create_schema

FAKE_RASA = "http://rasa.test"
SESSION = "a1b2c3d4e5f6a7b8"
ANSWER = [{"recipient_id": SESSION, "text": "2022年,支塘镇发放尊老金1428.35万元。"}]
ENDPOINTS = ("/api/chat", "/api/feedback")
NESTED = ("[" * 5000 + "]" * 5000).encode()
JSON = {"content-type": "application/json"}


@pytest.fixture
def rasa() -> Iterator[respx.MockRouter]:
    """Rasa's REST channel, faked: every message gets the same answer."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(f"{FAKE_RASA}/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=ANSWER))
        yield router


@pytest.fixture
def make_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rasa: respx.MockRouter
) -> Callable[..., httpx.AsyncClient]:
    """make_client(address_limit=...): a client of a fresh gateway on an empty KB, reached as http://localhost."""
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    create_schema(url)
    monkeypatch.setattr(settings, "KB_DATABASE_URL", url)
    monkeypatch.setattr(settings, "RASA_URL", FAKE_RASA)

    def make(address_limit: str = "1000/minute") -> httpx.AsyncClient:
        limiter = RateLimiter({"session": "1000/minute", "address": address_limit}, "memory://")
        app = create_app(limiter=limiter, kb_url=url)
        transport = httpx.ASGITransport(app, raise_app_exceptions=False, client=("203.0.113.9", 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://localhost")

    return make


def post(client: httpx.AsyncClient, path: str, body: bytes, **headers: str):
    return client.post(path, content=body, headers={"content-type": "application/json", **headers})


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_deeply_nested_body_is_a_400_with_no_traceback(make_client, path, caplog):
    caplog.set_level(logging.WARNING)
    response = await post(make_client(), path, NESTED)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_json"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_deeply_nested_field_is_a_400(make_client, path):
    body = b'{"session": "' + SESSION.encode() + b'", "rating": "up", "text": ' + NESTED + b"}"
    response = await post(make_client(), path, body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_json"


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_nesting_just_within_the_limit_is_still_read_and_refused_for_its_content(make_client, path):
    inner = "[" * 10 + "]" * 10
    body = ('{"session": "' + SESSION + '", "text": ' + inner + ', "rating": ' + inner + "}").encode()
    response = await post(make_client(), path, body)
    assert response.status_code == 400
    assert response.json()["error"] in ("bad_text", "bad_feedback")


REFUSED = {
    "nested": (NESTED, {}),
    "broken json": (b'{"session": ', {}),
    "not json": (b"\xff\xfe", {}),
    "wrong content type": (b"{}", {"content-type": "text/plain"}),
    "foreign origin": (b'{"session": "a1b2c3d4e5f6a7b8", "text": "hi"}', {"origin": "https://evil.example"}),
    "too large": (b'{"text": "' + b"x" * 20_000 + b'"}', {}),
}


@pytest.mark.parametrize("kind", REFUSED)
@pytest.mark.parametrize("path", ENDPOINTS)
async def test_every_refused_request_counts_against_the_address_rate_limit(make_client, path, kind):
    client = make_client(address_limit="3/minute")
    body, headers = REFUSED[kind]
    statuses = [(await post(client, path, body, **headers)).status_code for _ in range(4)]
    assert statuses[:3] == [statuses[0]] * 3 and 400 <= statuses[0] < 500, statuses
    assert statuses[3] == 429, statuses


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_body_that_stalls_gets_408_after_the_body_timeout(make_client, path, monkeypatch):
    monkeypatch.setattr(settings, "BODY_TIMEOUT", 0.3)

    async def stalled() -> AsyncIterator[bytes]:
        yield b'{"session": '
        await asyncio.sleep(3600)  # the rest never comes

    response = await asyncio.wait_for(make_client().post(path, content=stalled(), headers=JSON), 5)
    assert response.status_code == 408
    assert response.json()["error"] == "too_slow"


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_client_gone_mid_body_leaves_no_traceback(make_client, path, caplog):
    caplog.set_level(logging.WARNING)
    app = make_client()._transport.app
    messages = iter([{"type": "http.request", "body": b'{"session": ', "more_body": True}, {"type": "http.disconnect"}])
    sent: list[dict] = []

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"host", b"localhost"), (b"content-type", b"application/json")]
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": b"", "scheme": "http"}
    await app({**scope, "client": ("203.0.113.9", 40000), "server": ("localhost", 80), "root_path": ""}, receive, send)
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
