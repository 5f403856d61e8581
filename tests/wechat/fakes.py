"""A fake WeChat (it signs and pushes messages, retries like WeChat, checks the reply XML, serves the token and
customer-service APIs) and a fake Rasa REST channel, both small ASGI apps."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from wechatpy.crypto import WeChatCrypto

TOKEN = "zhitang-wechat-token"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "fake-app-secret-0123456789"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the console makes them
ACCOUNT = "gh_zhitang0001"

ANSWER = [
    {
        "text": "2022年，支塘镇发放尊老金1428.35万元。",
        "buttons": [{"title": "查看原文出处", "payload": "/show_source"}],
    },
    {
        "custom": {
            "kind": "answer",
            "entry": "elder_allowance",
            "source": {
                "type": "report",
                "report": {"zh": "2022年支塘镇政府工作报告", "en": "Zhitang Town 2022 Government Work Report"},
                "quote": "发放尊老金1428.35万元",
                "sentence": "提升老年服务，发放尊老金1428.35万元，受益老人21389人。",
            },
        }
    },
]
DID_YOU_MEAN = [
    {
        "text": "您是想问下面哪一项？",
        "buttons": [
            {"title": "日间照料中心", "payload": "/ask_day_care_centres"},
            {"title": "居家养老", "payload": "/ask_home_elder_care"},
        ],
    }
]
DAY_CARE = [{"text": "支塘镇有日间照料中心。", "buttons": []}]


class FakeRasa:
    """POST /webhooks/rest/webhook: answers by the message (`replies`), after `delay` seconds; records calls."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.calls: list[dict[str, Any]] = []
        self.replies: dict[str, list[dict[str, Any]]] = {"/ask_day_care_centres": DAY_CARE, "养老": DID_YOU_MEAN}
        self.default = ANSWER
        self.app = Starlette(routes=[Route("/webhooks/rest/webhook", self.webhook, methods=["POST"])])

    async def webhook(self, request: Request) -> JSONResponse:
        data = await request.json()
        self.calls.append(data)
        await asyncio.sleep(self.delay)
        reply = self.replies.get(data["message"], self.default)
        return JSONResponse([{"recipient_id": data["sender"], **m} for m in reply])


class FakeWeChatApi:
    """WeChat's server API: GET /cgi-bin/token, POST /cgi-bin/message/custom/send (records what it got)."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.sent_at: list[float] = []
        self.app = Starlette(
            routes=[
                Route("/cgi-bin/token", self.token, methods=["GET"]),
                Route("/cgi-bin/message/custom/send", self.custom_send, methods=["POST"]),
            ]
        )

    async def token(self, request: Request) -> JSONResponse:
        q = request.query_params
        if (q.get("grant_type"), q.get("appid"), q.get("secret")) != ("client_credential", APP_ID, APP_SECRET):
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.tokens.append(f"TOKEN-{len(self.tokens) + 1}-{secrets.token_hex(4)}")
        return JSONResponse({"access_token": self.tokens[-1], "expires_in": 7200})

    async def custom_send(self, request: Request) -> JSONResponse:
        if not self.tokens or request.query_params.get("access_token") != self.tokens[-1]:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        body = await request.body()
        data = json.loads(body.decode("utf-8"))
        assert data["msgtype"] == "text" and isinstance(data["text"]["content"], str)
        assert len(data["text"]["content"].encode("utf-8")) <= 2048
        self.sent.append(data)
        self.sent_at.append(time.monotonic())
        return JSONResponse({"errcode": 0, "errmsg": "ok"})


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def message_xml(
    openid: str, msg_type: str, msg_id: int | None = None, create_time: int | None = None, **fields: str
) -> str:
    """A pushed message as WeChat writes it (CDATA strings)."""
    items = {"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": str(create_time or int(time.time()))}
    items["MsgType"] = msg_type
    items.update(fields)
    body = "".join(f"<{k}>{v}</{k}>" if k == "CreateTime" else f"<{k}><![CDATA[{v}]]></{k}>" for k, v in items.items())
    if msg_id is not None:
        body += f"<MsgId>{msg_id}</MsgId>"
    return f"<xml>{body}</xml>"


@dataclass
class Push:
    """What the fake WeChat got back for one message: status, the reply's fields, how long each try took."""

    status: int
    body: str
    fields: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    tries: int = 1

    @property
    def content(self) -> str | None:
        return self.fields.get("Content")


class FakeWeChat:
    """Pushes signed messages to the app under test (plaintext or safe mode) and checks every reply's XML."""

    def __init__(self, client: httpx.AsyncClient, safe: bool = False, token: str = TOKEN):
        self.client, self.safe, self.token = client, safe, token
        self.crypto = WeChatCrypto(token, AES_KEY, APP_ID)

    def query(self, openid: str, body: str) -> tuple[dict[str, str], str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        query = {"signature": sign(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        query["openid"] = openid  # WeChat adds it to the URL
        if self.safe:
            body = self.crypto.encrypt_message(body, nonce, timestamp)
            encrypt = ET.fromstring(body).findtext("Encrypt")
            query.update(encrypt_type="aes", msg_signature=sign(self.token, timestamp, nonce, encrypt or ""))
        return query, body

    async def push(self, openid: str, body: str, timeout: float = 5.0, retries: int = 3) -> Push:
        """POST the message; like WeChat, try again (same message) when no answer came within `timeout`."""
        query, payload = self.query(openid, body)
        for attempt in range(1, retries + 2):
            started = time.monotonic()
            try:
                response = await asyncio.wait_for(
                    self.client.post(
                        "/wechat", params=query, content=payload.encode("utf-8"), headers={"Content-Type": "text/xml"}
                    ),
                    timeout,
                )
            except asyncio.TimeoutError:
                continue
            push = Push(response.status_code, response.text, seconds=time.monotonic() - started, tries=attempt)
            if response.status_code == 200 and response.text not in ("success", ""):
                push.fields = self.check_reply(response.text, openid)
            return push
        return Push(0, "", tries=retries + 1)

    def check_reply(self, text: str, openid: str) -> dict[str, str]:
        """The reply's fields, after checking it is a well-formed passive text reply to `openid`."""
        if self.safe:
            root = ET.fromstring(text)
            assert {c.tag for c in root} == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}, text
            expected = sign(self.token, root.findtext("TimeStamp"), root.findtext("Nonce"), root.findtext("Encrypt"))
            assert root.findtext("MsgSignature") == expected
            text = self.crypto.decrypt_message(text, expected, root.findtext("TimeStamp"), root.findtext("Nonce"))
        root = ET.fromstring(text)
        fields = {child.tag: child.text or "" for child in root}
        assert root.tag == "xml"
        assert fields["ToUserName"] == openid and fields["FromUserName"] == ACCOUNT
        assert fields["MsgType"] == "text" and fields["CreateTime"].isdigit()
        assert len(fields["Content"].encode("utf-8")) <= 2048
        return fields
