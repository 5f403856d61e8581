"""The web app with the WeChat channel on, in front of a fake Rasa, talking to a fake WeChat (all in-process)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bot import settings
from bot.web.app import create_app
from bot.web.gateway.rasa_client import RasaClient
from bot.web.gateway.ratelimit import RateLimiter
from bot.web.wechat.channel import WeChatChannel
from bot.web.wechat.identity import _key
from tests.wechat.fakes import AES_KEY, APP_ID, APP_SECRET, TOKEN, FakeRasa, FakeWeChat, FakeWeChatApi


@dataclass
class Setup:
    """One app under test and its fakes."""

    app: FastAPI
    client: httpx.AsyncClient
    wechat: FakeWeChat
    api: FakeWeChatApi
    rasa: FakeRasa
    var_dir: Path

    @property
    def channel(self) -> WeChatChannel:
        return self.app.state.wechat


def new_openid() -> str:
    """An OpenID like WeChat's (28 characters), unique to the test so it can be searched for afterwards."""
    return "oZt" + secrets.token_urlsafe(19)[:25]


@pytest.fixture
def make_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Setup]:
    """make_setup(safe=False, api=True, reply_after=4.5): the app with /wechat, its store under tmp_path."""
    made: list[Setup] = []

    def _make(safe: bool = False, api: bool = True, reply_after: float = 4.5, storage: str | None = None) -> Setup:
        var_dir = tmp_path / f"var{len(made)}"
        var_dir.mkdir()
        monkeypatch.setattr(settings, "VAR_DIR", var_dir)
        monkeypatch.setattr(settings, "WECHAT_TOKEN", TOKEN)
        monkeypatch.setattr(settings, "WECHAT_APP_ID", APP_ID if api or safe else "")
        monkeypatch.setattr(settings, "WECHAT_APP_SECRET", APP_SECRET if api else "")
        monkeypatch.setattr(settings, "WECHAT_ENCODING_AES_KEY", AES_KEY if safe else "")
        monkeypatch.setattr(settings, "WECHAT_API_BASE", "http://wechat.test")
        monkeypatch.setattr(settings, "WECHAT_ID_SECRET", "")
        monkeypatch.setattr(settings, "WECHAT_STORAGE", storage or f"sqlite:///{var_dir / 'wechat.sqlite3'}")
        monkeypatch.setattr(settings, "WECHAT_REPLY_AFTER", reply_after)
        _key.cache_clear()
        fake_rasa, fake_api = FakeRasa(), FakeWeChatApi()
        rasa = RasaClient(base_url="http://rasa.test", timeout=15.0, transport=httpx.ASGITransport(fake_rasa.app))
        limiter = RateLimiter({"session": "100/minute", "address": "1000/minute"}, "memory://")
        app = create_app(rasa=rasa, limiter=limiter)
        app.state.wechat.api.http = httpx.AsyncClient(transport=httpx.ASGITransport(fake_api.app))
        transport = httpx.ASGITransport(app, raise_app_exceptions=False, client=("101.226.0.10", 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://localhost")
        setup = Setup(app, client, FakeWeChat(client, safe=safe), fake_api, fake_rasa, var_dir)
        made.append(setup)
        return setup

    yield _make
    _key.cache_clear()


@pytest.fixture
async def setup(make_setup) -> AsyncIterator[Setup]:
    """Plaintext mode with the customer-service API."""
    made = make_setup()
    yield made
    await made.channel.drain()
