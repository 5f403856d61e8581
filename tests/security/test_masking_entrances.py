"""Finding 1 at every entrance: a personal number a resident typed is masked before it is forwarded or stored.

The gateway masks /api/chat before Rasa sees it and /api/feedback before the feedback table; the action server
masks in kb.queries.record_unanswered, the one write of the unanswered queue every staff role reads, so a
message that reached Rasa without the gateway is masked there too. (Rasa's REST channel itself:
tests/rasa/test_channel_masking.py; the whole stack: tests/e2e/test_privacy_e2e.py.)
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from sqlalchemy import select

from actions.service import ActionTriageLowConfidence
from bot import settings
from bot.web.app import create_app
from bot.web.gateway.ratelimit import RateLimiter
from kb.db import session_factory
from kb.models import Feedback, UnansweredQuestion
from kb.queries import record_unanswered

FAKE_RASA = "http://rasa.test"
SESSION = "a1b2c3d4e5f6a7b8"
# A full-width mobile with full-width dashes and a 15-digit old ID with a soft hyphen: both slipped through.
TYPED = "我的手机是１３８－００１３－８０００，身份证320581\u00ad800101123，尊老金怎么领"
NUMBERS = ["13800138000", "320581800101123"]
MASKED = "我的手机是138****8000，身份证320********1123，尊老金怎么领"


def raw_digits(text: str) -> list[str]:
    """Runs of 7 digits of the numbers above still readable in a text (full-width and separators read away)."""
    plain = re.sub(r"[\s\-.\u00ad\u180e\u200b]", "", unicodedata.normalize("NFKC", text))
    return [n[i : i + 7] for n in NUMBERS for i in range(len(n) - 6) if n[i : i + 7] in plain]


@pytest.fixture
async def gateway(kb_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[httpx.AsyncClient, respx.Route]]:
    """A client of the gateway app (in process) whose Rasa is faked; the fake's webhook route."""
    monkeypatch.setattr(settings, "RASA_URL", FAKE_RASA)
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        webhook = router.post(f"{FAKE_RASA}/webhooks/rest/webhook").mock(
            return_value=httpx.Response(200, json=[{"recipient_id": SESSION, "text": "尊老金由镇里发放。"}])
        )
        app = create_app(limiter=RateLimiter({"session": "100/minute", "address": "1000/minute"}, "memory://"))
        transport = httpx.ASGITransport(app, raise_app_exceptions=False, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, webhook


async def test_chat_forwards_and_echoes_a_full_width_number_only_masked(gateway):
    client, webhook = gateway
    response = await client.post("/api/chat", json={"session": SESSION, "text": TYPED})
    assert response.status_code == 200, response.text
    forwarded = json.loads(webhook.calls.last.request.content)["message"]
    assert raw_digits(forwarded) == [] and raw_digits(response.text) == []
    assert forwarded == response.json()["question"] == MASKED


async def test_feedback_stores_a_full_width_number_only_masked(gateway, kb_url):
    client, _ = gateway
    response = await client.post(
        "/api/feedback", json={"session": SESSION, "rating": "down", "question": TYPED, "answer": "回复" + TYPED}
    )
    assert response.status_code == 201, response.text
    with session_factory(kb_url)() as session:
        [row] = session.scalars(select(Feedback))
    assert (row.question, row.answer) == (MASKED, "回复" + MASKED)


def test_the_unanswered_queue_is_written_only_masked(kb_url):
    """record_unanswered is the queue's one write: whoever calls it, staff never read the raw number."""
    with session_factory(kb_url)() as session, session.begin():
        record_unanswered(session, TYPED, "zh")
        record_unanswered(session, TYPED.replace("－", " "), "zh")  # the same question, written differently
    with session_factory(kb_url)() as session:
        rows = [(r.text, r.count) for r in session.scalars(select(UnansweredQuestion))]
    assert rows == [(MASKED, 2)]


async def test_a_question_that_reached_rasa_without_the_gateway_is_queued_masked(kb_url, make_tracker, domain):
    """A message sent straight to Rasa's webhook, that the bot cannot answer, is queued for staff masked."""
    from rasa_sdk.executor import CollectingDispatcher

    text = "我的手机１３８ ００１３ ８０００收不到短信怎么回事"
    tracker = make_tracker(text, "nlu_fallback", confidence=0.3)
    await ActionTriageLowConfidence().run(CollectingDispatcher(), tracker, domain)
    with session_factory(kb_url)() as session:
        queued = [r.text for r in session.scalars(select(UnansweredQuestion))]
    assert queued == ["我的手机138****8000收不到短信怎么回事"]
