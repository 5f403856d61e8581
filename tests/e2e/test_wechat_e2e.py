"""The WeChat channel in front of the real assistant (Rasa, action server, KB): signed plaintext pushes to a
gateway on a free port, as WeChat sends them; the answers come back as passive XML replies."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.ops import launcher
from tests.e2e.conftest import Stack, gateway_env, running
from tests.wechat.conftest import new_openid
from tests.wechat.fakes import TOKEN, message_xml, sign


@pytest.fixture(scope="module")
def wechat_gateway(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("wechat-gateway")
    port = launcher.free_port()
    env = gateway_env(
        ZHITANG_RASA_URL=stack.rasa_url,
        ZHITANG_KB_DATABASE_URL=stack.kb_url,
        ZHITANG_VAR_DIR=str(tmp / "var"),
        WECHAT_TOKEN=TOKEN,
    )
    with running(launcher.gateway(port, env, tmp / "gateway.log"), timeout=60):
        yield f"http://127.0.0.1:{port}", tmp


def push(url: str, openid: str, xml: str) -> dict[str, str]:
    ts, nonce = str(int(time.time())), "e2enonce"
    query = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": openid}
    response = httpx.post(url + "/wechat", params=query, content=xml.encode(), timeout=10)
    assert response.status_code == 200, response.text
    return {child.tag: child.text or "" for child in ET.fromstring(response.text)}


def test_wechat_text_and_voice_get_the_kb_answer(wechat_gateway):
    url, tmp = wechat_gateway
    openid = new_openid()
    started = time.monotonic()
    text = push(url, openid, message_xml(openid, "text", 1, Content="尊老金发了多少？"))
    seconds = time.monotonic() - started
    assert "1428.35" in text["Content"] and "出处：" in text["Content"]
    assert seconds < 4.5
    print(f"passive reply from the real stack: {seconds * 1000:.0f} ms")
    started = time.monotonic()
    voice = push(url, openid, message_xml(openid, "voice", 2, MediaId="m", Format="amr", Recognition="尊老金发了多少"))
    print(f"then: {(time.monotonic() - started) * 1000:.0f} ms")
    assert "1428.35" in voice["Content"]
    english = push(url, openid, message_xml(openid, "text", 3, Content="How much elder allowance was paid?"))
    assert "14" in english["Content"] and "Source:" in english["Content"]
    stored = [p for p in tmp.rglob("*") if p.is_file() and openid.encode() in p.read_bytes()]
    assert stored == []
