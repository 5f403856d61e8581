"""The whole web app (gateway and admin) on the throw-away KB, Rasa faked by respx: the bot puts a conversation in
the queue when asked for a person; residents and staff members are separate clients with their own cookies."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import respx

from bot import settings
from bot.web.app import create_app
from bot.web.gateway.ratelimit import RateLimiter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "admin"))
from admin_helpers import StaffClient, admin_app_with  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

FAKE_RASA = "http://rasa.test"
WEBHOOK = f"{FAKE_RASA}/webhooks/rest/webhook"
ASK_FOR_PERSON = "我要找人工"


def rasa_reply(request: httpx.Request) -> httpx.Response:
    """What the bot says: the handover action's queue signal to 我要找人工 / I want a person, else an answer."""
    import json

    text = json.loads(request.content)["message"]
    if text in (ASK_FOR_PERSON, "I want to talk to a person", "/request_human"):
        return httpx.Response(
            200,
            json=[
                {"recipient_id": "x", "text": "好的，正在为您转接镇工作人员，请稍候。"},
                {"recipient_id": "x", "custom": {"kind": "handover", "handover": {"state": "queue"}}},
            ],
        )
    return httpx.Response(200, json=[{"recipient_id": "x", "text": "机器人的回答 the bot's answer"}])


@pytest.fixture
def rasa() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(WEBHOOK, name="webhook").mock(side_effect=rasa_reply)
        yield router


@pytest.fixture
def app(kb_url: str, monkeypatch: pytest.MonkeyPatch, rasa):
    """The web app with staff accounts wang and zhao (editors), boss (admin), li (viewer)."""
    monkeypatch.setattr(settings, "RASA_URL", FAKE_RASA)
    monkeypatch.setattr(settings, "HANDOVER_POLL_SECONDS", 0.05)
    admin_app_with(kb_url, monkeypatch)  # the accounts and a fast password hash
    limiter = RateLimiter({"session": "1000/minute", "address": "10000/minute"}, "memory://")
    return create_app(limiter=limiter)


@pytest.fixture
def resident(app) -> TestClient:
    """A resident's browser (the widget's JSON API)."""
    return TestClient(app, client=("203.0.113.9", 40000))


@pytest.fixture
def staff(app) -> Callable[[str], StaffClient]:
    """staff("wang"): a browser signed in to the admin as that staff member."""

    def _make(username: str) -> StaffClient:
        client = StaffClient(app)
        assert client.login(username).status_code == 302
        return client

    return _make
