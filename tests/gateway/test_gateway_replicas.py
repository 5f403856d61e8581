"""The gateway balances over Rasa replicas and moves a conversation on when its replica is down."""

from __future__ import annotations

import httpx
import pytest
import respx

from bot.web.gateway.rasa_client import RasaClient, RasaUnavailable

A, B = "http://127.0.0.1:7001", "http://127.0.0.1:7002"
REPLY = [{"recipient_id": "s", "text": "2022年，支塘镇发放尊老金1428.35万元。"}]


def test_a_conversation_sticks_to_one_replica_and_sessions_spread():
    """The same session always starts at the same replica; many sessions use both."""
    client = RasaClient(base_urls=[A, B])
    firsts = {client.replicas_for(f"session-{i}")[0] for i in range(40)}
    assert firsts == {A, B}
    assert client.replicas_for("session-7") == client.replicas_for("session-7")


@respx.mock
async def test_a_down_replica_is_skipped_and_the_message_answered():
    """A replica refusing connections: the message goes to the other one, which answers."""
    client = RasaClient(base_urls=[A, B])
    session = next(f"s{i}" for i in range(100) if client.replicas_for(f"s{i}")[0] == A)
    down = respx.post(f"{A}/webhooks/rest/webhook").mock(side_effect=httpx.ConnectError("refused"))
    up = respx.post(f"{B}/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=REPLY))
    messages = await client.send(session, "尊老金发了多少?")
    assert messages[0]["text"] == REPLY[0]["text"]
    assert down.call_count == 1 and up.call_count == 1
    # during the cool-down the failed replica is tried last, so the next message goes straight to B
    await client.send(session, "尊老金发了多少?")
    assert down.call_count == 1 and up.call_count == 2
    await client.aclose()


@respx.mock
async def test_all_replicas_down_is_unavailable():
    """No replica reachable: RasaUnavailable (the gateway turns it into the polite 503)."""
    client = RasaClient(base_urls=[A, B])
    respx.post(f"{A}/webhooks/rest/webhook").mock(side_effect=httpx.ConnectError("refused"))
    respx.post(f"{B}/webhooks/rest/webhook").mock(side_effect=httpx.ReadError("reset"))
    with pytest.raises(RasaUnavailable):
        await client.send("s1", "尊老金发了多少?")
    await client.aclose()
