"""The gateway forwards residents' messages to Rasa concurrently: nothing in /api/chat (rate limits, the handover
check on the KB database, the HTTP client's pool) makes one resident wait for another's answer. A fake Rasa holds
every request until all of them have arrived, so a gateway that forwarded one at a time would never answer."""

from __future__ import annotations

import asyncio

import httpx
import respx

from tests.gateway.conftest import WEBHOOK

RESIDENTS = 12  # more than SQLAlchemy's default pool (5) and fewer than httpx's (100)
PATIENCE = 10.0  # seconds the fake waits for the others: far longer than a concurrent gateway needs


async def test_residents_messages_reach_rasa_together_not_one_after_another(make_client, kb_url, answer):
    arrived, everyone = [], asyncio.Event()

    async def rasa_waiting_for_everyone(request: httpx.Request) -> httpx.Response:
        arrived.append(request)
        if len(arrived) == RESIDENTS:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), PATIENCE)  # raises (a 503 for the resident) if serialized
        return httpx.Response(200, json=answer)

    with respx.mock(assert_all_mocked=True) as router:
        router.post(WEBHOOK).mock(side_effect=rasa_waiting_for_everyone)
        client = make_client(timeout=PATIENCE * 2)
        sessions = [f"resident-{n:04d}-concurrent" for n in range(RESIDENTS)]
        replies = await asyncio.gather(
            *(client.post("/api/chat", json={"session": s, "text": "尊老金发了多少?"}) for s in sessions)
        )
    assert [r.status_code for r in replies] == [200] * RESIDENTS
    assert sorted(r.json()["session"] for r in replies) == sorted(sessions)
    assert all(r.json()["messages"] for r in replies)
