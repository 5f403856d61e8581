"""Scale-out: two Rasa replicas on PostgreSQL and Redis behind the gateway; one replica dies mid-way, the stack's
own supervisor (the one `make run-scaled` runs) starts it again, and the gateway stays up.

Run by `make test-scale` (PostgreSQL and Redis from Debian's packages, on loopback, in a temporary folder).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa
import yaml
from scale_helpers import running

from bot.ops import launcher
from bot.ops.scaled import ScaledStack
from bot.web.gateway.rasa_client import RasaClient

QUESTIONS = [
    q["text"]
    for q in yaml.safe_load((launcher.ROOT / "tests" / "e2e" / "questions.yml").read_text(encoding="utf-8"))[
        "questions"
    ]
    if not q.get("expect_unknown")
]
CONVERSATIONS, TURNS = 16, 6


@pytest.fixture(scope="module")
def scaled():
    """The scale-out stack on free ports, in a temporary folder the postgres user can reach."""
    yield from running(
        "zhitang-scale-",
        lambda base: ScaledStack(
            base,
            replicas=2,
            pg_port=launcher.free_port(),
            redis_port=launcher.free_port(),
            rasa_ports=[launcher.free_port(), launcher.free_port()],
            action_ports=[launcher.free_port(), launcher.free_port()],
            gateway_port=launcher.free_port(),
            extra_env={"ZHITANG_RATE_LIMIT_ADDRESS": "100000/minute", "ZHITANG_RATE_LIMIT_SESSION": "100000/minute"},
        ),
    )


class Halfway:
    """Counts residents who reached the middle of their conversation (asyncio.Barrier is Python 3.11+)."""

    def __init__(self, residents: int):
        self.waiting, self.residents, self.all_there = 0, residents, asyncio.Event()

    def arrive(self) -> None:
        self.waiting += 1
        if self.waiting == self.residents:
            self.all_there.set()


async def _conversation(
    client: httpx.AsyncClient, url: str, session: str, texts: list[str], killed: asyncio.Event, half: Halfway
) -> list[tuple[int, str, str]]:
    """One resident's turns; halfway through, wait until a replica has been killed."""
    out = []
    for turn, text in enumerate(texts):
        if turn == TURNS // 2:
            half.arrive()
            await killed.wait()
        response = await client.post(url, json={"session": session, "text": text})
        body = response.json() if response.status_code == 200 else {}
        texts = " ".join(m.get("text", "") for m in body.get("messages", []))
        out.append((response.status_code, texts, body.get("question", "")))
    return out


async def _run(stack: ScaledStack, sessions: dict[str, list[str]]) -> dict[str, list[tuple[int, str, str]]]:
    url = f"http://127.0.0.1:{stack.gateway_port}/api/chat"
    killed = asyncio.Event()
    half = Halfway(len(sessions))
    async with httpx.AsyncClient(timeout=60, headers={"Origin": f"http://127.0.0.1:{stack.gateway_port}"}) as client:
        tasks = {
            s: asyncio.create_task(_conversation(client, url, s, texts, killed, half)) for s, texts in sessions.items()
        }
        await half.all_there.wait()
        stack.rasa(0).stop(signal.SIGKILL)  # a replica dies without warning
        killed.set()
        return {s: await t for s, t in tasks.items()}


def test_every_message_answered_and_stored_in_order_when_a_replica_dies(scaled: ScaledStack):
    """Concurrent conversations over two replicas; one is killed mid-way; nothing is lost."""
    sessions = {
        f"scale{uuid.uuid4().hex[:12]}": [QUESTIONS[(i * 7 + t) % len(QUESTIONS)] for t in range(TURNS)]
        for i in range(CONVERSATIONS)
    }
    urls = [f"http://127.0.0.1:{port}" for port in scaled.rasa_ports]
    on_killed = [s for s in sessions if RasaClient(base_urls=urls).replicas_for(s)[0] == urls[0]]
    assert on_killed and len(on_killed) < len(sessions), "conversations must be spread over both replicas"
    gateway = next(p for p in scaled.processes if p.name == "gateway").popen
    results = asyncio.run(_run(scaled, sessions))
    assert scaled.supervisor is not None
    assert scaled.supervisor.watched_named("rasa1").exits == [-signal.SIGKILL], "replica 1 was killed"
    assert gateway.poll() is None and next(p for p in scaled.processes if p.name == "gateway").popen is gateway
    for session, answers in results.items():
        assert [status for status, _, _ in answers] == [200] * TURNS, (session, answers)
        assert all(text.strip() for _, text, _ in answers), (session, answers)
    engine = sa.create_engine(scaled.services.url("zhitang_tracker"))
    with engine.connect() as db:
        for session in sessions:
            rows = db.execute(
                sa.text("select type_name, data from events where sender_id = :s order by id"), {"s": session}
            ).all()
            said = [json.loads(data)["text"] for kind, data in rows if kind == "user"]
            # a message retried on the other replica after the kill may be stored twice, never lost or reordered
            deduplicated = [t for i, t in enumerate(said) if i == 0 or t != said[i - 1]]
            forwarded = [question for _, _, question in results[session]]  # as the gateway passed them on
            assert deduplicated == forwarded, (session, said)
            assert any(kind == "bot" for kind, _ in rows)


def test_the_killed_replica_comes_back_and_the_stack_stays_up(scaled: ScaledStack):
    """After the kill above, the supervisor has started replica 1 again; nothing else was restarted."""
    watched = scaled.supervisor.watched_named("rasa1")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (
        watched.restarts and _answers(f"http://127.0.0.1:{scaled.rasa_ports[0]}/")
    ):
        time.sleep(0.5)
    assert watched.restarts == 1 and scaled.rasa(0).popen.poll() is None
    assert all(w.restarts == 0 for w in scaled.supervisor.watched if w is not watched), "only the dead replica"
    url = f"http://127.0.0.1:{scaled.gateway_port}/api/chat"
    headers = {"Origin": f"http://127.0.0.1:{scaled.gateway_port}"}
    for question in QUESTIONS[:4]:
        response = httpx.post(url, json={"session": uuid.uuid4().hex, "text": question}, headers=headers, timeout=60)
        assert response.status_code == 200 and response.json().get("messages")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
