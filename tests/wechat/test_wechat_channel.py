"""/wechat against a fake WeChat and a fake Rasa: verification, passive replies, safe mode, the async path,
retries and dedup, voice, events, numbered suggestions, the byte limit, bad input, privacy."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot import settings
from bot.web.wechat.identity import sender_id
from tests.wechat.conftest import Setup, new_openid
from tests.wechat.fakes import TOKEN, FakeWeChat, message_xml, sign

ROOT = Path(__file__).resolve().parents[2]


# --- the console's server check ---------------------------------------------------------------------------


async def test_get_answers_the_consoles_check_with_the_echostr(setup: Setup):
    ts, nonce = str(int(time.time())), "n0nce"
    query = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "5837397520243316829"}
    response = await setup.client.get("/wechat", params=query)
    assert (response.status_code, response.text) == (200, "5837397520243316829")


@pytest.mark.parametrize(
    "change", [{"signature": "0" * 40}, {"timestamp": "1"}, {"signature": None}, {"echostr": "<script>"}]
)
async def test_get_refuses_a_wrong_signature_or_echostr(setup: Setup, change):
    ts, nonce = str(int(time.time())), "n0nce"
    query = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "12345"}
    query = {k: v for k, v in {**query, **change}.items() if v is not None}
    response = await setup.client.get("/wechat", params=query)
    assert response.status_code in (400, 403)
    assert "12345" not in response.text


async def test_without_wechat_token_there_is_no_wechat_route(make_setup, monkeypatch):
    from bot.web.app import create_app

    monkeypatch.setattr(settings, "WECHAT_TOKEN", "")
    app = create_app()
    assert "/wechat" not in {getattr(route, "path", None) for route in app.routes}


# --- text, plaintext and safe mode --------------------------------------------------------------------------


@pytest.mark.parametrize("safe", [False, True], ids=["plaintext", "safe-mode"])
async def test_a_text_gets_a_passive_reply_with_one_source_line(make_setup, safe):
    setup: Setup = make_setup(safe=safe)
    openid = new_openid()
    push = await setup.wechat.push(openid, message_xml(openid, "text", 1001, Content="尊老金发了多少？"))
    assert push.status == 200 and push.tries == 1
    assert push.content == (
        "2022年，支塘镇发放尊老金1428.35万元。\n出处：《2022年支塘镇政府工作报告》“发放尊老金1428.35万元”"
    )
    assert push.seconds < 1.0
    [call] = setup.rasa.calls
    assert call["sender"] == sender_id(openid) and call["message"] == "尊老金发了多少？"
    assert openid not in str(call)
    assert setup.api.sent == []  # nothing by the customer-service API


async def test_safe_mode_refuses_a_wrong_msg_signature(make_setup):
    setup: Setup = make_setup(safe=True)
    openid = new_openid()
    query, body = setup.wechat.query(openid, message_xml(openid, "text", 1002, Content="尊老金"))
    query["msg_signature"] = "0" * 40
    response = await setup.client.post("/wechat", params=query, content=body.encode())
    assert response.status_code == 403
    assert setup.rasa.calls == []


async def test_personal_numbers_are_masked_before_rasa(setup: Setup):
    openid = new_openid()
    await setup.wechat.push(openid, message_xml(openid, "text", 1003, Content="我的手机13912345678，尊老金呢"))
    assert setup.rasa.calls[0]["message"] == "我的手机139****5678，尊老金呢"


# --- WeChat's 5 seconds: the async path, retries, dedup ------------------------------------------------------


async def test_slow_rasa_takes_the_async_path_through_the_customer_service_api(setup: Setup):
    setup.rasa.delay = 6.0
    openid = new_openid()
    started = time.monotonic()
    push = await setup.wechat.push(openid, message_xml(openid, "text", 2001, Content="尊老金发了多少？"))
    assert (push.status, push.body, push.tries) == (200, "success", 1)
    assert 4.3 <= push.seconds < 5.0, push.seconds  # within WeChat's 5 s
    assert setup.api.sent == []
    await setup.channel.drain()
    [sent] = setup.api.sent
    assert sent["touser"] == openid and sent["text"]["content"].startswith("2022年，支塘镇发放尊老金1428.35万元。")
    assert 5.9 <= setup.api.sent_at[0] - started < 7.5
    print(f"slow Rasa: 'success' after {push.seconds:.2f} s, 客服消息 after {setup.api.sent_at[0] - started:.2f} s")
    assert len(setup.rasa.calls) == 1 and len(setup.api.tokens) == 1
    # The next slow answer reuses the cached access_token.
    await setup.wechat.push(openid, message_xml(openid, "text", 2002, Content="尊老金呢？"))
    await setup.channel.drain()
    assert len(setup.api.sent) == 2 and len(setup.api.tokens) == 1


async def test_an_expired_access_token_is_fetched_again(setup: Setup):
    setup.rasa.delay = 0.3
    setup.channel.reply_after = 0.1
    openid = new_openid()
    await setup.wechat.push(openid, message_xml(openid, "text", 2101, Content="尊老金"))
    await setup.channel.drain()
    setup.api.tokens.append("ROTATED-ELSEWHERE")  # WeChat invalidated ours
    await setup.wechat.push(openid, message_xml(openid, "text", 2102, Content="尊老金"))
    await setup.channel.drain()
    assert len(setup.api.sent) == 2 and len(setup.api.tokens) == 3


async def test_a_retry_of_a_message_in_flight_waits_for_the_same_answer(setup: Setup):
    """WeChat gave up on the first try after 1 s; its retry gets the answer that try started, Rasa asked once."""
    setup.rasa.delay = 1.5
    openid = new_openid()
    push = await setup.wechat.push(openid, message_xml(openid, "text", 3001, Content="尊老金"), timeout=1.0)
    assert push.status == 200 and push.tries == 2
    assert push.content.startswith("2022年，支塘镇发放尊老金")
    assert len(setup.rasa.calls) == 1
    await setup.channel.drain()
    assert setup.api.sent == []


async def test_a_repeated_msgid_asks_rasa_once(setup: Setup):
    openid = new_openid()
    xml = message_xml(openid, "text", 3002, Content="尊老金发了多少？")
    setup.rasa.delay = 0.5
    pushes = await asyncio.gather(*(setup.wechat.push(openid, xml) for _ in range(3)))
    again = await setup.wechat.push(openid, xml)
    assert {p.content for p in [*pushes, again]} == {pushes[0].content} and pushes[0].content
    assert len(setup.rasa.calls) == 1


async def test_a_repeated_msgid_reaches_another_replica_through_the_shared_store(make_setup, tmp_path):
    """Two gateways on one store: the retry on the second one reuses the first one's answer."""
    storage = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    first, second = make_setup(storage=storage), make_setup(storage=storage)
    first.rasa.delay = 1.0
    openid = new_openid()
    xml = message_xml(openid, "text", 3003, Content="尊老金")
    one, two = await asyncio.gather(first.wechat.push(openid, xml), second.wechat.push(openid, xml))
    assert one.content == two.content and one.content
    assert len(first.rasa.calls) + len(second.rasa.calls) == 1
    await first.channel.drain()
    await second.channel.drain()


async def test_without_the_api_a_slow_answer_says_so_politely(make_setup):
    setup: Setup = make_setup(api=False, reply_after=0.3)
    setup.rasa.delay = 1.0
    openid = new_openid()
    push = await setup.wechat.push(openid, message_xml(openid, "text", 3004, Content="尊老金"))
    assert push.content == "小助手还在查找答案，请过一会儿再发一次您的问题。"
    await setup.channel.drain()
    assert setup.api.sent == []


# --- message types -------------------------------------------------------------------------------------------


async def test_voice_is_answered_from_its_recognition(setup: Setup):
    openid = new_openid()
    xml = message_xml(openid, "voice", 4001, MediaId="m1", Format="amr", Recognition="尊老金发了多少")
    push = await setup.wechat.push(openid, xml)
    assert push.content.startswith("2022年，支塘镇发放尊老金")
    assert setup.rasa.calls[0]["message"] == "尊老金发了多少"


async def test_voice_without_recognition_asks_to_type(setup: Setup):
    openid = new_openid()
    push = await setup.wechat.push(openid, message_xml(openid, "voice", 4002, MediaId="m1", Format="amr"))
    assert push.content == "抱歉，没有听清您的语音，请再说一遍，或者直接打字提问。"
    assert setup.rasa.calls == []


async def test_subscribing_gets_a_bilingual_welcome(setup: Setup):
    openid = new_openid()
    push = await setup.wechat.push(openid, message_xml(openid, "event", Event="subscribe"))
    assert "支塘小助手" in push.content and "Zhitang Assistant" in push.content
    assert "尊老金" in push.content and "elder allowance" in push.content
    assert setup.rasa.calls == []


async def test_a_menu_click_asks_its_topic_once(setup: Setup):
    openid = new_openid()
    xml = message_xml(openid, "event", create_time=1700000000, Event="CLICK", EventKey="TOPIC_elder_allowance")
    first = await setup.wechat.push(openid, xml)
    retry = await setup.wechat.push(openid, xml)  # events are told apart by FromUserName + CreateTime
    assert first.content == retry.content and first.content.startswith("2022年")
    assert [c["message"] for c in setup.rasa.calls] == ["/ask_elder_allowance"]


@pytest.mark.parametrize(
    "kind, fields",
    [
        ("image", {"PicUrl": "http://mmbiz.example/x.jpg", "MediaId": "m"}),
        ("location", {"Location_X": "31.6", "Location_Y": "120.9", "Scale": "15", "Label": "支塘"}),
        ("video", {"MediaId": "m", "ThumbMediaId": "t"}),
    ],
)
async def test_other_messages_get_please_type_or_speak(setup: Setup, kind, fields):
    openid = new_openid()
    push = await setup.wechat.push(openid, message_xml(openid, kind, 4100, **fields))
    assert "请直接打字或发语音提问" in push.content and "Please type or speak" in push.content
    assert setup.rasa.calls == []


async def test_unsubscribe_needs_no_answer(setup: Setup):
    openid = new_openid()
    push = await setup.wechat.push(openid, message_xml(openid, "event", Event="unsubscribe"))
    assert (push.status, push.body) == (200, "success")


# --- rendering -------------------------------------------------------------------------------------------------


async def test_suggestions_are_numbered_and_a_number_picks_one(setup: Setup):
    openid = new_openid()
    push = await setup.wechat.push(openid, message_xml(openid, "text", 5001, Content="养老"))
    assert push.content == "您是想问下面哪一项？\n\n回复 1 查看日间照料中心\n回复 2 查看居家养老"
    push = await setup.wechat.push(openid, message_xml(openid, "text", 5002, Content="１"))  # full-width too
    assert push.content == "支塘镇有日间照料中心。"
    assert setup.rasa.calls[1]["message"] == "/ask_day_care_centres"
    assert setup.rasa.calls[1]["metadata"] == {"lang": "zh"}
    # That answer had no suggestions: a number is just a number again.
    await setup.wechat.push(openid, message_xml(openid, "text", 5003, Content="2"))
    assert setup.rasa.calls[2]["message"] == "2"


async def test_a_long_answer_is_split_at_a_sentence_within_2048_bytes(setup: Setup):
    sentences = [f"第{i}句：支塘镇的公共服务内容很多，这里是一段很长的说明文字。" for i in range(120)]
    setup.rasa.default = [{"text": "".join(sentences)}]
    openid = new_openid()
    push = await setup.wechat.push(openid, message_xml(openid, "text", 6001, Content="介绍一下"))
    assert len(push.content.encode("utf-8")) <= 2048 and push.content.endswith("。")
    await setup.channel.drain()
    rest = [m["text"]["content"] for m in setup.api.sent]
    assert rest and all(len(part.encode("utf-8")) <= 2048 and part.endswith("。") for part in rest)
    assert push.content + "".join(rest) == "".join(sentences)


async def test_without_the_api_a_long_answer_is_trimmed_with_a_note(make_setup):
    setup: Setup = make_setup(api=False)
    setup.rasa.default = [{"text": "支塘镇的公共服务内容很多，这里是一段很长的说明文字。" * 200}]
    openid = new_openid()
    push = await setup.wechat.push(openid, message_xml(openid, "text", 6002, Content="介绍一下"))
    assert len(push.content.encode("utf-8")) <= 2048
    assert push.content.endswith("。\n（内容较长，已截断。）")


# --- bad input: always 4xx -------------------------------------------------------------------------------------

ENTITY_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + "]><xml><ToUserName><![CDATA[gh_zhitang0001]]></ToUserName><FromUserName>OPENID</FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>&i;</Content><MsgId>7001</MsgId></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<xml><FromUserName>OPENID</FromUserName><MsgType>text</MsgType><Content>&e;</Content></xml>"
)


@pytest.mark.parametrize("safe", [False, True], ids=["plaintext", "safe-mode"])
@pytest.mark.parametrize(
    "body, status",
    [
        (ENTITY_BOMB, 400),
        (EXTERNAL_ENTITY, 400),
        ("<xml><FromUserName>OPENID</FromUserName><MsgType>text", 400),
        ("not xml at all", 400),
        ("<xml><a><b>nested</b></a></xml>", 400),
        ("<xml><ToUserName>x</ToUserName></xml>", 400),
        ("<xml>" + "<Content>x</Content>" * 20000 + "</xml>", 413),
    ],
    ids=["entity-bomb", "external-entity", "broken", "not-xml", "nested", "no-sender", "huge"],
)
async def test_bad_bodies_get_4xx(make_setup, body, status, safe):
    setup: Setup = make_setup(safe=safe)
    openid = new_openid()
    query, _ = setup.wechat.query(openid, message_xml(openid, "text", 7000, Content="x"))
    body = body.replace("OPENID", openid)
    response = await setup.client.post("/wechat", params=query, content=body.encode())
    assert response.status_code == status, response.text
    assert setup.rasa.calls == []


async def test_a_wrong_or_missing_signature_gets_403(setup: Setup):
    openid = new_openid()
    xml = message_xml(openid, "text", 7100, Content="尊老金")
    query, body = setup.wechat.query(openid, xml)
    for bad in ({**query, "signature": "f" * 40}, {k: v for k, v in query.items() if k != "signature"}):
        response = await setup.client.post("/wechat", params=bad, content=body.encode())
        assert response.status_code == 403
    other = FakeWeChat(setup.client, token="another-accounts-token")
    assert (await other.push(openid, xml)).status == 403
    assert setup.rasa.calls == []


# --- privacy ---------------------------------------------------------------------------------------------------


def _files_holding(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


async def test_no_raw_openid_is_stored_or_logged(setup: Setup, caplog):
    openid = new_openid()
    setup.rasa.delay = 0.3
    setup.channel.reply_after = 0.1  # the async path too: the OpenID lives only in memory until it is sent
    for msg_id, text in ((8001, "尊老金"), (8002, "养老"), (8003, "1")):
        await setup.wechat.push(openid, message_xml(openid, "text", msg_id, Content=text))
    await setup.wechat.push(openid, message_xml(openid, "event", Event="CLICK", EventKey="TOPIC_elder_allowance"))
    await setup.channel.drain()
    assert len(setup.api.sent) == 4  # (they did reach WeChat)
    await setup.channel.store.aclose()
    assert (setup.var_dir / "wechat.sqlite3").exists() and (setup.var_dir / "wechat-id.key").exists()
    assert _files_holding(setup.var_dir, openid.encode()) == []
    assert _files_holding(ROOT / "var", openid.encode()) == []
    assert all(openid not in record.getMessage() for record in caplog.records)
    assert all(openid not in str(call) for call in setup.rasa.calls)
    assert len({call["sender"] for call in setup.rasa.calls}) == 1  # one OpenID, one conversation
