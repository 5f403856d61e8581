"""POST /api/chat: answers, every refused input, rate limits, masking, Rasa or the action server down."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from bot.web.gateway.i18n import message

SESSION = "a1b2c3d4e5f6a7b8"
POLITE_ZH = "暂时无法回答"
POLITE_EN = "temporarily unavailable"


def body(text: object = "尊老金发了多少?", session: object = SESSION, **extra: object) -> dict:
    """A /api/chat request body."""
    return {"session": session, "text": text, **extra}


def sent_to_rasa(rasa) -> list[dict]:
    """The JSON bodies the fake Rasa received."""
    return [json.loads(call.request.content) for call in rasa.routes["webhook"].calls]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_answer_merges_text_buttons_and_source(client, rasa):
    """Rasa's text message and the custom payload after it come back as one message."""
    response = await client.post("/api/chat", json=body())
    assert response.status_code == 200
    data = response.json()
    assert data["session"] == SESSION and data["lang"] == "zh"
    assert data["messages"] == [
        {
            "text": "2022年,支塘镇发放尊老金1428.35万元。",
            "buttons": [{"title": "查看原文出处", "payload": "/show_source"}],
            "source": {
                "type": "report",
                "quote": "发放尊老金1428.35万元",
                "sentence": "提升老年服务,发放尊老金1428.35万元,受益老人21389人。",
                "report": {"zh": "2022年支塘镇政府工作报告", "en": "Zhitang Town 2022 Government Work Report"},
            },
            "kind": "answer",
            "entry": "elder_allowance",
        }
    ]
    # the widget can hand a conversation to town staff: Rasa's handover action is told so (actions/handoff.py)
    assert sent_to_rasa(rasa) == [{"sender": SESSION, "message": "尊老金发了多少?", "metadata": {"handover": True}}]


@pytest.mark.parametrize(
    "lang, metadata",
    [("en", {"lang": "en", "handover": True}), ("zh", {"lang": "zh", "handover": True}), ("fr", {"handover": True})]
    + [(None, {"handover": True})],
)
async def test_the_widgets_language_reaches_rasa_as_metadata(client, rasa, lang, metadata):
    """The language chosen in the widget travels as message metadata (no hidden greeting text)."""
    assert (await client.post("/api/chat", json={**body("/greet"), "lang": lang})).status_code == 200
    assert sent_to_rasa(rasa)[0]["metadata"] == metadata


async def test_whitespace_is_folded_before_forwarding(client, rasa):
    """Leading, trailing and repeated whitespace (ideographic space included) is folded."""
    response = await client.post("/api/chat", json=body("  尊老金\n\n发了\u3000多少?\t "))
    assert response.status_code == 200
    assert sent_to_rasa(rasa)[0]["message"] == "尊老金 发了 多少?"


BAD_INPUTS = [
    pytest.param(body(""), 400, "empty", id="empty"),
    pytest.param(body("   \n\t\u3000 "), 400, "empty", id="whitespace"),
    pytest.param(body(None), 400, "empty", id="null-text"),
    pytest.param({"session": SESSION}, 400, "empty", id="missing-text"),
    pytest.param(body("尊" * 501), 400, "too_long", id="501-chars"),
    pytest.param(body(12345), 400, "bad_text", id="number-text"),
    pytest.param(body(["尊老金"]), 400, "bad_text", id="list-text"),
    pytest.param({"text": "尊老金发了多少?"}, 400, "bad_session", id="missing-session"),
    pytest.param(body(session="short"), 400, "bad_session", id="short-session"),
    pytest.param(body(session="a" * 65), 400, "bad_session", id="long-session"),
    pytest.param(body(session="../../etc/passwd"), 400, "bad_session", id="path-session"),
    pytest.param(body(session="abc def ghi"), 400, "bad_session", id="space-session"),
    pytest.param(body(session=12345678), 400, "bad_session", id="number-session"),
    pytest.param(body("尊老金\x00发了多少"), 400, "control_chars", id="nul"),
    pytest.param(body("\x07\x1b[31m尊老金"), 400, "control_chars", id="escape-sequence"),
    pytest.param(body("尊老金\x85"), 400, "control_chars", id="c1-control"),
    pytest.param(body("/"), 400, "empty", id="lone-slash"),
]


@pytest.mark.parametrize("payload, status, error", BAD_INPUTS)
async def test_bad_input_is_refused_with_a_message_and_never_reaches_rasa(client, rasa, payload, status, error):
    """Each bad input: a 4xx, an error code and a message for the widget, and no call to Rasa."""
    response = await client.post("/api/chat", json=payload)
    assert response.status_code == status
    data = response.json()
    assert data["error"] == error
    assert data["message"]
    assert not rasa.routes["webhook"].called


@pytest.mark.parametrize(
    "raw, content_type, status, error",
    [
        pytest.param(b'{"session": "a1b2c3d4e5f6a7b8", "text": ', "application/json", 400, "bad_json", id="broken"),
        pytest.param(b"not json at all", "application/json", 400, "bad_json", id="not-json"),
        pytest.param(b'["a1b2c3d4e5f6a7b8", "hi"]', "application/json", 400, "bad_json", id="array"),
        pytest.param(b"\xff\xfe\x00", "application/json", 400, "bad_json", id="not-utf8"),
        pytest.param(b"", "application/json", 400, "bad_json", id="no-body"),
        pytest.param(b'{"session": "a1b2c3d4e5f6a7b8", "text": "\\ud800"}', "application/json", 400, "control_chars",
                     id="lone-surrogate"),
        pytest.param(b'{"session": "a1b2c3d4e5f6a7b8", "text": "hi"}', "text/plain", 415, "bad_content_type",
                     id="text-plain"),
        pytest.param(b'{"text": "' + b"a" * 20_000 + b'"}', "application/json", 413, "too_large", id="20-kB"),
    ],
)  # fmt: skip
async def test_broken_bodies_are_refused(client, rasa, raw, content_type, status, error):
    """Broken JSON, a JSON array, bad UTF-8, a lone surrogate, the wrong type, a huge body: a 4xx, no Rasa call."""
    response = await client.post("/api/chat", content=raw, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json()["error"] == error
    assert not rasa.routes["webhook"].called


async def test_500_characters_pass_and_501_do_not(client, rasa):
    """The limit is on characters (not bytes): 500 Chinese characters are fine."""
    assert (await client.post("/api/chat", json=body("尊" * 500))).status_code == 200
    too_long = (await client.post("/api/chat", json=body("尊" * 501))).json()
    assert too_long["message"] == message("too_long", "zh", limit=500)


@pytest.mark.parametrize(
    "payload, headers, lang",
    [
        (body("How much elder allowance was paid?" * 20), {}, "en"),
        (body("尊老金发了多少?" * 70), {"accept-language": "en-US"}, "zh"),
        (body("   ", lang="en"), {}, "en"),
        (body("   ", lang="zh"), {"accept-language": "en"}, "zh"),
        (body("   "), {"accept-language": "en-GB,en;q=0.9,zh-CN;q=0.8"}, "en"),
        (body("   "), {"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"}, "zh"),
        (body("   "), {}, "zh"),
        (body("How much?", session="bad"), {}, "en"),
    ],
)
async def test_error_message_is_in_the_residents_language(client, payload, headers, lang):
    """The text's language first, then the request's `lang`, then Accept-Language, then Chinese."""
    data = (await client.post("/api/chat", json=payload, headers=headers)).json()
    assert data["lang"] == lang
    has_chinese = any("\u4e00" <= ch <= "\u9fff" for ch in data["message"])
    assert has_chinese == (lang == "zh"), data["message"]


@pytest.mark.parametrize(
    "text, forwarded",
    [
        ("/ask_elder_allowance", "/ask_elder_allowance"),
        ("/restart", "restart"),
        ("/session_start", "session_start"),
        ('/greet{"language": "en"}', 'greet{"language": "en"}'),
        ("//尊老金", "尊老金"),
    ],
)
async def test_only_plain_button_payloads_reach_rasa_as_intents(client, rasa, text, forwarded):
    """A button's "/intent" is forwarded; restarts and payloads with entity JSON go as plain words."""
    assert (await client.post("/api/chat", json=body(text))).status_code == 200
    assert sent_to_rasa(rasa)[0]["message"] == forwarded


async def test_personal_numbers_are_masked_before_forwarding(client, rasa):
    """ID, mobile and bank-card numbers never reach Rasa; the resident sees the masked copy."""
    text = "我身份证32058119800101123X,手机+86 138-1234-5678,卡号6222 0202 0000 1234 567,尊老金怎么领?"
    data = (await client.post("/api/chat", json=body(text))).json()
    masked = "我身份证320***********123X,手机138****5678,卡号622************4567,尊老金怎么领?"
    assert data["question"] == masked
    assert sent_to_rasa(rasa)[0]["message"] == masked


async def test_rate_limit_per_session(make_client, rasa):
    """The 4th message of a conversation within the window gets a polite 429; another conversation does not."""
    client = make_client(session_limit="3/minute")
    for _ in range(3):
        assert (await client.post("/api/chat", json=body())).status_code == 200
    refused = await client.post("/api/chat", json=body())
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert "请稍等" in refused.json()["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert len(rasa.routes["webhook"].calls) == 3
    assert (await client.post("/api/chat", json=body(session="other-session-1"))).status_code == 200


async def test_rate_limit_per_address(make_client, rasa):
    """New session ids do not get round the per-address limit; another address is not affected."""
    client = make_client(address_limit="5/minute", address="198.51.100.9")
    for n in range(5):
        assert (await client.post("/api/chat", json=body(session=f"session-{n:04d}"))).status_code == 200
    refused = await client.post("/api/chat", json=body("How much?", session="session-9999"))
    assert refused.status_code == 429
    assert "too fast" in refused.json()["message"]
    # the same app, reached from another address
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(client.app, client=("198.51.100.10", 40000)), base_url="http://testserver"
    )
    assert (await other.post("/api/chat", json=body(session="session-0001"))).status_code == 200


async def test_rasa_down_gives_a_polite_503(make_client):
    """Nothing listening at RASA_URL: 503 with 'temporarily unavailable … service centre', in the language."""
    client = make_client(rasa_url=f"http://127.0.0.1:{closed_port()}")
    zh = await client.post("/api/chat", json=body())
    assert zh.status_code == 503
    assert POLITE_ZH in zh.json()["message"] and "便民服务中心" in zh.json()["message"]
    en = await client.post("/api/chat", json=body("How much elder allowance was paid?"))
    assert en.status_code == 503
    assert POLITE_EN in en.json()["message"] and "Service Centre" in en.json()["message"]


async def test_action_server_down_gives_a_polite_503(client, rasa):
    """Rasa answers [] when its action server is down: the resident is told, not left with nothing."""
    rasa.routes["webhook"].mock(return_value=httpx.Response(200, json=[]))
    response = await client.post("/api/chat", json=body())
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert POLITE_ZH in response.json()["message"]
    assert response.json()["question"] == "尊老金发了多少?"


@pytest.mark.parametrize(
    "reply",
    [
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
        httpx.Response(500, text="Internal Server Error"),
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"not": "a list"}),
        httpx.Response(200, json=[{"recipient_id": SESSION, "image": "x.png"}]),
    ],
    ids=["read-timeout", "connect-timeout", "dropped", "http-500", "html", "not-a-list", "nothing-to-show"],
)
async def test_slow_or_broken_rasa_gives_a_polite_503(client, rasa, reply):
    """Timeouts, errors and nonsense from Rasa: 503 JSON in the resident's language, never a 500."""
    route = rasa.routes["webhook"]
    route.mock(side_effect=reply) if isinstance(reply, Exception) else route.mock(return_value=reply)
    response = await client.post("/api/chat", json=body("How many seniors got the allowance?"))
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/json")
    assert POLITE_EN in response.json()["message"]


async def test_a_really_slow_rasa_times_out(make_client):
    """A Rasa that accepts the connection but never answers: 503 after RASA_TIMEOUT, not a hanging request."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client = make_client(rasa_url=f"http://127.0.0.1:{server.getsockname()[1]}", timeout=0.5)
        response = await client.post("/api/chat", json=body())
    assert response.status_code == 503
    assert POLITE_ZH in response.json()["message"]


async def test_unexpected_error_is_a_polite_json_503(client, monkeypatch):
    """A bug in the gateway still answers JSON the widget can show, not an HTML 500 page."""

    async def broken(*_args):
        raise RuntimeError("bug")

    monkeypatch.setattr(client.app.state.rasa, "send", broken)
    response = await client.post("/api/chat", json=body(), headers={"accept-language": "en"})
    assert response.status_code == 503
    assert POLITE_EN in response.json()["message"]


async def test_other_sites_are_refused(client, rasa):
    """A browser on another origin: no CORS grant on preflight, 403 on a direct POST; configured origins pass."""
    evil = {"origin": "https://evil.example", "access-control-request-method": "POST"}
    preflight = await client.options("/api/chat", headers=evil)
    assert "access-control-allow-origin" not in preflight.headers
    post = await client.post("/api/chat", json=body(), headers={"origin": "https://evil.example"})
    assert post.status_code == 403
    assert not rasa.routes["webhook"].called

    allowed = {"origin": "http://localhost:8000", "access-control-request-method": "POST"}
    preflight = await client.options("/api/chat", headers={**allowed, "access-control-request-headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:8000"
    ok = await client.post("/api/chat", json=body(), headers={"origin": "http://localhost:8000"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "http://localhost:8000"
    same = await client.post("/api/chat", json=body(), headers={"origin": "http://testserver"})
    assert same.status_code == 200


async def test_api_answers_carry_security_headers_and_no_store(client):
    """API answers are never cached and carry the same security headers as the page."""
    response = await client.post("/api/chat", json=body())
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
