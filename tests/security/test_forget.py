"""A resident deletes their conversation (PIPL Art. 47): POST /api/forget {session} deletes that conversation's
tracker events, feedback and the questions it left unanswered, and nothing of anyone else's; it is checked like
/api/chat (origin, rate limits, a clear 4xx for bad input)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import test_retention
from test_retention import (
    NOW,
    add_conversation,
    add_feedback,
    add_question,
    feedback_sessions,
    question_counts,
    senders,
)

from bot import settings
from bot.web.app import create_app
from bot.web.gateway.ratelimit import RateLimiter

kb = test_retention.kb  # the fixtures of the retention tests: an empty KB, a tracker database with Rasa's table
tracker_url = test_retention.tracker_url

MINE = "a1b2c3d4e5f6a7b8"
THEIRS = "f0e1d2c3b4a59687"


@pytest.fixture
def make_client(kb, tracker_url) -> Callable[..., httpx.AsyncClient]:
    """make_client(session_limit=..., address_limit=...): a client of a fresh gateway (no Rasa needed)."""
    clients: list[httpx.AsyncClient] = []

    def _make(session_limit: str = "100/minute", address_limit: str = "1000/minute") -> httpx.AsyncClient:
        limiter = RateLimiter({"session": session_limit, "address": address_limit}, "memory://")
        transport = httpx.ASGITransport(create_app(limiter=limiter), raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(client)
        return client

    return _make


@pytest.fixture
async def client(make_client) -> AsyncIterator[httpx.AsyncClient]:
    yield make_client()


@pytest.fixture
def two_residents(kb, tracker_url) -> None:
    """Two conversations, each with a 👎 and a question the bot could not answer (one asked by both)."""
    add_conversation(tracker_url, MINE, NOW, "我的手机号138****5678,怎么办低保?", "大家都问的问题")
    add_conversation(tracker_url, THEIRS, NOW, "医保报销了多少人次?", "大家都问的问题")
    add_feedback(kb, MINE, NOW, "我的手机号138****5678,怎么办低保?")
    add_feedback(kb, THEIRS, NOW, "医保报销了多少人次?")
    add_question(kb, "我的手机号138****5678,怎么办低保?", NOW)
    add_question(kb, "大家都问的问题", NOW, count=2)


async def test_forget_deletes_the_conversation_and_its_feedback_and_nothing_else(
    client, two_residents, kb, tracker_url
):
    response = await client.post("/api/forget", json={"session": MINE, "lang": "zh"})
    assert response.status_code == 200, response.text
    assert senders(tracker_url) == {THEIRS: 6}
    assert feedback_sessions(kb) == [THEIRS]
    body = response.json()
    assert body["deleted"] == {"events": 6, "feedback": 1, "questions": 2, "handover": 0}
    assert "删除" in body["message"]


async def test_forget_takes_the_conversations_unanswered_questions_off_the_staff_list(client, two_residents, kb):
    await client.post("/api/forget", json={"session": MINE})
    # its own question is gone; the one another resident also asked stays, counted once
    assert question_counts(kb) == {"大家都问的问题": 1}


async def test_forgetting_twice_or_an_unknown_conversation_is_fine(client, two_residents, tracker_url):
    for _ in range(2):
        response = await client.post("/api/forget", json={"session": MINE})
        assert response.status_code == 200
    assert response.json()["deleted"] == {"events": 0, "feedback": 0, "questions": 0, "handover": 0}
    assert senders(tracker_url) == {THEIRS: 6}


@pytest.mark.parametrize(
    "body, status, error",
    [
        ({}, 400, "bad_session"),
        ({"session": "short"}, 400, "bad_session"),
        ({"session": "../../etc/passwd"}, 400, "bad_session"),
        ({"session": "a' OR '1'='1' --xx"}, 400, "bad_session"),
        ({"session": "%" * 16}, 400, "bad_session"),
        ({"session": ["a1b2c3d4e5f6a7b8"]}, 400, "bad_session"),
        ({"session": 12345678901}, 400, "bad_session"),
    ],
)
async def test_a_bad_session_is_refused_with_400_and_nothing_is_deleted(
    client, two_residents, tracker_url, body, status, error
):
    response = await client.post("/api/forget", json=body)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert senders(tracker_url) == {MINE: 6, THEIRS: 6}


async def test_a_body_that_is_not_json_is_refused(client, two_residents):
    response = await client.post(
        "/api/forget", content=b"session=a1b2c3d4e5f6a7b8", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    response = await client.post("/api/forget", content=b"{not json", headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["error"]) == (400, "bad_json")
    response = await client.post("/api/forget", content=b"[1]", headers={"content-type": "application/json"})
    assert response.status_code == 400


async def test_a_huge_body_is_refused_with_413(client, two_residents):
    response = await client.post("/api/forget", json={"session": MINE, "pad": "x" * 20_000})
    assert response.status_code == 413


async def test_another_site_cannot_delete_a_conversation(client, two_residents, tracker_url):
    response = await client.post("/api/forget", json={"session": MINE}, headers={"origin": "https://evil.example"})
    assert (response.status_code, response.json()["error"]) == (403, "bad_origin")
    assert senders(tracker_url) == {MINE: 6, THEIRS: 6}


async def test_an_allowed_embedding_site_may(client, two_residents, tracker_url, monkeypatch):
    monkeypatch.setattr(settings, "ALLOWED_ORIGINS", ["https://town.example"])
    response = await client.post("/api/forget", json={"session": MINE}, headers={"origin": "https://town.example"})
    assert response.status_code == 200


async def test_forget_is_rate_limited_per_address(make_client, two_residents):
    client = make_client(address_limit="3/minute")
    codes = [(await client.post("/api/forget", json={"session": MINE})).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


async def test_forget_is_rate_limited_per_conversation(make_client, two_residents):
    client = make_client(session_limit="2/minute")
    codes = [(await client.post("/api/forget", json={"session": MINE})).status_code for _ in range(3)]
    assert codes[-1] == 429
    limited = await client.post("/api/forget", json={"session": MINE})
    assert "retry-after" in limited.headers


async def test_get_is_not_allowed(client):
    assert (await client.get("/api/forget")).status_code == 405


async def test_an_unreachable_tracker_database_gives_503_not_a_crash(client, two_residents, kb, monkeypatch):
    monkeypatch.setattr(settings, "TRACKER_DATABASE_URL", "postgresql+psycopg://nobody:x@127.0.0.1:1/none")
    response = await client.post("/api/forget", json={"session": MINE, "lang": "en"})
    assert (response.status_code, response.json()["error"]) == (503, "unavailable")
    assert feedback_sessions(kb) == sorted([MINE, THEIRS])  # all or nothing: the feedback is still there


async def test_the_privacy_notice_reads_the_retention_from_the_gateway(client, monkeypatch):
    monkeypatch.setattr(settings, "RETENTION_DAYS", 90, raising=False)
    response = await client.get("/api/privacy")
    assert response.status_code == 200
    assert response.json()["retention_days"] == 90
