"""Faults: the action server killed, Rasa restarted, the KB database down. The resident always gets an answer.

The stack here: one action server and one Rasa (SQLite tracker store) with the KB on PostgreSQL, and the
gateway in front, all on free loopback ports.
"""

from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from scale_helpers import running

from bot.ops import launcher
from bot.ops.services import Services


class FaultStack:
    """The processes of the fault tests, and a helper to chat through the gateway."""

    def __init__(self, base: Path):
        self.base = base
        self.services = Services(base / "services", launcher.free_port(), launcher.free_port())
        self.action_port, self.rasa_port, self.gateway_port = (launcher.free_port() for _ in range(3))
        self.env = launcher.base_env(
            ZHITANG_KB_DATABASE_URL=self.services.url("zhitang_kb"),
            ZHITANG_RASA_URL=f"http://127.0.0.1:{self.rasa_port}",
            ZHITANG_RATE_LIMIT_ADDRESS="100000/minute",
            ZHITANG_RATE_LIMIT_SESSION="100000/minute",
            ZHITANG_RASA_TIMEOUT="20",
        )
        endpoints = launcher.write_endpoints(
            base / "endpoints.yml", f"http://127.0.0.1:{self.action_port}/webhook", base / "tracker.db"
        )
        self.actions = launcher.action_server(self.action_port, self.env, base / "actions.log")
        self.rasa = launcher.rasa_server(self.rasa_port, endpoints, self.env, base / "rasa.log")
        self.gateway = launcher.gateway(self.gateway_port, self.env, base / "gateway.log")
        self.client = httpx.Client(timeout=60, headers={"Origin": f"http://127.0.0.1:{self.gateway_port}"})

    def up(self) -> None:
        self.services.up()
        subprocess.run([str(launcher.APP_PYTHON), "-m", "kb", "build"], cwd=launcher.ROOT, env=self.env, check=True)
        for process in (self.actions, self.rasa, self.gateway):
            process.start()
        for process in (self.actions, self.rasa, self.gateway):
            process.wait_until_up()

    def down(self) -> None:
        for process in (self.gateway, self.rasa, self.actions):
            process.stop()
        self.services.down()

    def chat(self, text: str, session: str | None = None) -> tuple[int, str]:
        """Status and all message text of one question through the gateway."""
        response = self.client.post(
            f"http://127.0.0.1:{self.gateway_port}/api/chat",
            json={"session": session or uuid.uuid4().hex, "text": text},
        )
        body = response.json()
        texts = [m.get("text", "") for m in body.get("messages", [])] + [body.get("message", "")]
        return response.status_code, "\n".join(t for t in texts if t)


@pytest.fixture(scope="module")
def faults():
    """The fault tests' stack on free ports, in a temporary folder the postgres user can reach."""
    yield from running("zhitang-faults-", FaultStack)


@pytest.mark.parametrize(
    "question, lang_word", [("尊老金发了多少?", "暂时"), ("How much elder allowance was paid?", "temporarily")]
)
def test_action_server_killed_then_back(faults: FaultStack, question: str, lang_word: str):
    """Action server killed: a polite 'temporarily unavailable' in the resident's language; answers resume."""
    faults.actions.stop(signal.SIGKILL)
    try:
        status, text = faults.chat(question)
        assert status == 503
        assert lang_word in text and ("便民服务中心" in text or "Service Centre" in text)
    finally:
        faults.actions.start()
        faults.actions.wait_until_up()
    status, text = faults.chat(question)
    assert status == 200 and ("1428.35" in text or "14.2835" in text)


def test_rasa_restart_keeps_the_conversation(faults: FaultStack):
    """Rasa restarted between a question and its follow-up: the follow-up still knows the topic."""
    session = uuid.uuid4().hex
    status, text = faults.chat("医保报销了多少人次?", session)
    assert status == 200 and "1293" in text
    faults.rasa.stop()
    faults.rasa.start()
    faults.rasa.wait_until_up()
    status, text = faults.chat("实付金额呢?", session)
    assert status == 200 and "409.33万元" in text


def test_kb_database_down_gives_a_clear_message(faults: FaultStack):
    """PostgreSQL (the KB) stopped: the bot says the KB is unavailable, nothing crashes; it recovers."""
    faults.services.down()
    try:
        status, text = faults.chat("尊老金发了多少?")
        assert status == 200 and "知识库暂时无法访问" in text
        status, text = faults.chat("How many seniors received the elder allowance?")
        assert status == 200 and "knowledge base is temporarily unavailable" in text
    finally:
        faults.services.up()
    status, text = faults.chat("尊老金发了多少?")
    assert status == 200 and "1428.35万元" in text
