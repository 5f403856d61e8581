"""In the Rasa environment: the REST channel asks for the gateway's token when one is configured (finding 8).

Local mode (`make run`) configures none: the channel answers plain requests on 127.0.0.1, as the README's curl
does. Scale-out and Kubernetes set ZHITANG_RASA_TOKEN: then only a request carrying it is handled, so nobody
else on the network can speak (or /restart) in a resident's conversation.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import aiohttp
import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage, register
from rasa.utils.endpoints import read_endpoint_config
from sanic import Sanic

from bot.rasa_ext.channel import ZhitangRestInput

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "/webhooks/rest/webhook"
TOKEN = "gateway-token-8c1e"


class EchoAgent:
    """Stands in for Rasa's agent: records who spoke and answers with the text."""

    def __init__(self) -> None:
        self.handled: list[tuple[str, str]] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.handled.append((message.sender_id, message.text))
        assert isinstance(message.output_channel, CollectingOutputChannel)
        await message.output_channel.send_text_message(message.sender_id, f"echo {message.text}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def call(channel: ZhitangRestInput, method: str, path: str, **kwargs) -> tuple[int, object, EchoAgent]:
    """One request to a Sanic app that mounts the channel exactly as `rasa run` does (rasa.core.channels.register)."""
    Sanic.test_mode = True
    app = Sanic(f"channel_{uuid.uuid4().hex}")
    agent = EchoAgent()
    app.ctx.agent = agent
    register([channel], app, route="/webhooks/")
    port = free_port()
    server = await app.create_server("127.0.0.1", port, return_asyncio_server=True, access_log=False)
    await server.startup()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.request(method, f"http://127.0.0.1:{port}{path}", **kwargs) as response:
                body = await response.json(content_type=None)
                return response.status, body, agent
    finally:
        server.close()
        await server.wait_closed()


def run(coroutine):
    return asyncio.new_event_loop().run_until_complete(coroutine)


def say(text: str = "尊老金发了多少?", sender: str = "resident-1") -> dict:
    return {"json": {"sender": sender, "message": text}}


def test_without_a_configured_token_plain_requests_are_answered(monkeypatch: pytest.MonkeyPatch):
    """`make run`: the README's curl keeps working."""
    monkeypatch.delenv("ZHITANG_RASA_TOKEN", raising=False)
    status, body, agent = run(call(ZhitangRestInput(), "POST", WEBHOOK, **say()))
    assert status == 200
    assert body == [{"recipient_id": "resident-1", "text": "echo 尊老金发了多少?"}]


def test_with_a_token_a_request_without_it_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ZHITANG_RASA_TOKEN", TOKEN)
    status, _, agent = run(call(ZhitangRestInput(), "POST", WEBHOOK, **say("/restart", sender="someone-else")))
    assert status == 401
    assert agent.handled == [], "the message never reached the conversation"


def test_with_a_token_a_wrong_token_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ZHITANG_RASA_TOKEN", TOKEN)
    headers = {"Authorization": "Bearer guessed"}
    status, body, agent = run(call(ZhitangRestInput(), "POST", WEBHOOK, headers=headers, **say()))
    assert status == 401
    assert agent.handled == []
    assert "token" in str(body).lower()


def test_with_a_token_the_gateways_request_is_answered(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ZHITANG_RASA_TOKEN", TOKEN)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    status, body, agent = run(call(ZhitangRestInput(), "POST", WEBHOOK, headers=headers, **say()))
    assert status == 200
    assert agent.handled == [("resident-1", "尊老金发了多少?")]


def test_a_token_from_credentials_yml_counts_too(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ZHITANG_RASA_TOKEN", raising=False)
    channel = ZhitangRestInput.from_credentials({"token": TOKEN})
    assert run(call(channel, "POST", WEBHOOK, **say()))[0] == 401
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert run(call(channel, "POST", WEBHOOK, headers=headers, **say()))[0] == 200


def test_the_channels_health_route_stays_open(monkeypatch: pytest.MonkeyPatch):
    """The launcher and probes check GET /webhooks/rest/ without a token."""
    monkeypatch.setenv("ZHITANG_RASA_TOKEN", TOKEN)
    status, body, _ = run(call(ZhitangRestInput(), "GET", "/webhooks/rest/"))
    assert status == 200 and body == {"status": "ok"}


def test_rasa_sends_the_action_secret_it_reads_from_endpoints_yml(monkeypatch: pytest.MonkeyPatch):
    """Rasa's own reader expands ${ZHITANG_ACTION_SECRET} in endpoints.yml into the action call's header."""
    monkeypatch.setenv("ZHITANG_ACTION_SECRET", "s3cret-from-env")
    endpoint = read_endpoint_config(str(ROOT / "endpoints.yml"), "action_endpoint")
    assert endpoint is not None
    assert endpoint.headers == {"Authorization": "Bearer s3cret-from-env"}
