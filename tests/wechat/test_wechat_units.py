"""The channel's parts on their own: the shared store (SQL and Redis), rendering, the keyed hash, settings."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import settings
from bot.ops import launcher
from bot.web.wechat import HideOpenId
from bot.web.wechat.identity import _key, sender_id
from bot.web.wechat.render import MAX_BYTES, render, split
from bot.web.wechat.store import RedisStore, SqlStore, open_store, storage_url
from tests.wechat.conftest import new_openid
from tests.wechat.fakes import message_xml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away redis-server on a free port (skipped where Redis is not installed: `make test` installs it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = launcher.free_port()
    tmp = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if (
                subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip()
                == "PONG"
            ):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/3"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(params=["sql", "redis"])
async def store(request, tmp_path):
    url = request.getfixturevalue("redis_url") if request.param == "redis" else f"sqlite:///{tmp_path / 's.sqlite3'}"
    made = open_store(url)
    assert isinstance(made, RedisStore if request.param == "redis" else SqlStore)
    yield made
    await made.aclose()


async def test_a_claim_is_granted_once_until_it_expires(store):
    key = f"msg:{time.time_ns()}"
    results = await asyncio.gather(*(store.claim(key, "1", 0.5) for _ in range(5)))
    assert sorted(results) == [False] * 4 + [True]
    await asyncio.sleep(0.6)
    assert await store.claim(key, "2", 10) and await store.get(key) == "2"


async def test_put_get_delete(store):
    await store.put("answer:x", "一", 10)
    await store.put("answer:x", "二", 10)
    assert await store.get("answer:x") == "二"
    await store.delete("answer:x")
    assert await store.get("answer:x") is None
    await store.put("short", "v", 0.2)
    await asyncio.sleep(0.3)
    assert await store.get("short") is None


async def test_two_replicas_on_redis_ask_rasa_once(make_setup, redis_url):
    first, second = make_setup(storage=redis_url), make_setup(storage=redis_url)
    first.rasa.delay = second.rasa.delay = 0.5
    openid = new_openid()
    xml = message_xml(openid, "text", 9901, Content="尊老金")
    one, two = await asyncio.gather(first.wechat.push(openid, xml), second.wechat.push(openid, xml))
    assert one.content == two.content and one.content
    assert len(first.rasa.calls) + len(second.rasa.calls) == 1
    first.channel.reply_after = 0.05  # the access_token, shared through Redis too
    first.rasa.delay = 0.2
    await first.wechat.push(openid, message_xml(openid, "text", 9902, Content="尊老金"))
    await first.channel.drain()
    token = await second.channel.store.get("access_token")
    assert token and token.split()[0] == first.api.tokens[-1]
    for setup in (first, second):
        await setup.channel.drain()


def test_the_storage_follows_the_rate_limits(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "WECHAT_STORAGE", "")
    monkeypatch.setattr(settings, "VAR_DIR", tmp_path)
    monkeypatch.setattr(settings, "RATE_LIMIT_STORAGE", "async+redis://:pw@redis:6379/2")
    assert storage_url() == "redis://:pw@redis:6379/2"
    monkeypatch.setattr(settings, "RATE_LIMIT_STORAGE", "memory://")
    monkeypatch.setattr(settings, "KB_DATABASE_URL", "postgresql+psycopg://kb@db/kb")
    assert storage_url() == "postgresql+psycopg://kb@db/kb"
    monkeypatch.setattr(settings, "KB_DATABASE_URL", f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    assert storage_url() == f"sqlite:///{tmp_path / 'wechat.sqlite3'}"
    monkeypatch.setattr(settings, "WECHAT_STORAGE", "redis://other:6379/5")
    assert storage_url() == "redis://other:6379/5"


def test_an_openid_maps_to_one_keyed_conversation_id(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "VAR_DIR", tmp_path)
    monkeypatch.setattr(settings, "WECHAT_ID_SECRET", "")
    _key.cache_clear()
    openid = new_openid()
    first = sender_id(openid)
    assert first == sender_id(openid) and first.startswith("wx-") and len(first) == 43
    assert (tmp_path / "wechat-id.key").stat().st_mode & 0o077 == 0
    assert sender_id(new_openid()) != first
    monkeypatch.setattr(settings, "WECHAT_ID_SECRET", "another key")
    assert sender_id(openid) != first  # without the key, the id says nothing about the OpenID
    _key.cache_clear()


def test_render_numbers_buttons_in_the_answers_language():
    messages = [
        {
            "text": "Did you mean **one** of these?",
            "buttons": [{"title": "Day care", "payload": "/ask_day_care_centres"}],
        },
        {
            "text": "Zhitang paid 14.28 million yuan of 尊老金 in 2022.",
            "buttons": [
                {"title": "Show the source", "payload": "/show_source"},
                {"title": "Day care", "payload": "/ask_day_care_centres"},
            ],
            "source": {
                "type": "report",
                "quote": "发放尊老金1428.35万元" * 5,
                "report": {"zh": "报告", "en": "Work Report"},
            },
        },
    ]
    rendered = render(messages)
    assert rendered.lang == "en"
    text = rendered.parts[0]
    assert "Did you mean one of these?" in text and "**" not in text
    source = [line for line in text.splitlines() if line.startswith("Source:")]
    assert len(source) == 1 and len(source[0]) < 80 and source[0].endswith("…”")
    assert text.endswith("Reply 1 for Day care") and "Show the source" not in text
    assert rendered.choices == [{"title": "Day care", "payload": "/ask_day_care_centres"}]


def test_split_keeps_utf8_bytes_under_the_limit_and_cuts_at_sentences():
    text = "".join(f"这是第{i}句话，说的是支塘镇的事情。" for i in range(300)) + "最后一句没有句号"
    parts = split(text)
    assert len(parts) > 1 and "".join(parts) == text
    assert all(len(p.encode("utf-8")) <= MAX_BYTES for p in parts)
    assert all(p.endswith("。") for p in parts[:-1])
    run_on = "字" * 2000  # one sentence longer than a message: cut by bytes, never inside a character
    assert [len(p.encode()) for p in split(run_on)] == [2046, 2046, 1908]
    assert "".join(split(run_on)) == run_on and all(len(p.encode()) <= MAX_BYTES for p in split(run_on))


def test_the_access_log_never_shows_an_openid():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "POST", "/wechat?signature=s&timestamp=1&nonce=n&openid=oZtSECRET123", "1.1", 200),
        None,
    )
    HideOpenId().filter(record)
    assert "oZtSECRET123" not in record.getMessage() and "openid=-" in record.getMessage()


def test_the_sample_menu_asks_topics_the_bot_knows():
    menu = json.loads((ROOT / "docs" / "wechat-menu.json").read_text(encoding="utf-8"))
    domain = (ROOT / "domain.yml").read_text(encoding="utf-8")
    keys = [b["key"] for top in menu["button"] for b in top.get("sub_button", [top]) if b.get("type") == "click"]
    assert keys and all(k.startswith("TOPIC_") for k in keys)
    for key in keys:
        assert f"- ask_{key.removeprefix('TOPIC_')}" in domain, key
    assert len(menu["button"]) <= 3 and all(len(top.get("sub_button", [])) <= 5 for top in menu["button"])


async def test_settings_read_wechat_names_plain_or_prefixed(monkeypatch, caplog):
    monkeypatch.delenv("ZHITANG_WECHAT_TOKEN", raising=False)
    monkeypatch.setenv("WECHAT_TOKEN", "plain")
    monkeypatch.setattr(settings, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        assert settings.env("WECHAT_TOKEN", "") == "plain"
        monkeypatch.setenv("ZHITANG_WECHAT_TOKEN", "prefixed")
        assert settings.env("WECHAT_TOKEN", "") == "prefixed"
    assert [r for r in caplog.records if r.name == "bot.settings"] == []
