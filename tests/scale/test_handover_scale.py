"""The live handover across gateways: two gateways on one PostgreSQL KB, one Rasa and its action server.
The resident asks for a person through gateway A, a staff member takes the conversation in the
admin of gateway B, gateway A is restarted mid-conversation, and the conversation goes on: the staff reply reaches
the resident through the restarted gateway A's event stream (resuming from the last event seen), the resident's
next message reaches staff instead of the bot, and once staff close it the bot answers again. Nothing of the
handover lives in a gateway's memory."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from scale_helpers import running

from bot.ops import launcher
from bot.ops.services import Services
from kb import handover as desk
from kb.db import session_factory
from kb.users import create_user

STAFF, PASSWORD = "agent-scale", "agent-scale-password"


class HandoverStack:
    """Services, one action server and one Rasa, two gateways (A and B) on free ports."""

    def __init__(self, base: Path):
        self.services = Services(base / "services", launcher.free_port(), launcher.free_port())
        self.action_port, self.rasa_port = launcher.free_port(), launcher.free_port()
        self.ports = {"a": launcher.free_port(), "b": launcher.free_port()}
        self.kb_url = self.services.url("zhitang_kb")
        self.env = launcher.base_env(
            ZHITANG_KB_DATABASE_URL=self.kb_url,
            ZHITANG_RASA_URL=f"http://127.0.0.1:{self.rasa_port}",
            ZHITANG_RATE_LIMIT_ADDRESS="100000/minute",
            ZHITANG_RATE_LIMIT_SESSION="100000/minute",
            ZHITANG_RASA_TIMEOUT="30",
            ZHITANG_ADMIN_SECRET="scale-test-secret",  # the same on both gateways
            ZHITANG_ADMIN_COOKIE_SECURE="0",
            ZHITANG_VAR_DIR=str(base / "var"),
        )
        endpoints = launcher.write_endpoints(
            base / "endpoints.yml", f"http://127.0.0.1:{self.action_port}/webhook", base / "tracker.db"
        )
        self.actions = launcher.action_server(self.action_port, self.env, base / "actions.log")
        self.rasa = launcher.rasa_server(self.rasa_port, endpoints, self.env, base / "rasa.log")
        self.gateways = {
            name: launcher.gateway(port, self.env, base / f"gateway-{name}.log") for name, port in self.ports.items()
        }

    def up(self) -> None:
        self.services.up()
        subprocess.run([str(launcher.APP_PYTHON), "-m", "kb", "build"], cwd=launcher.ROOT, env=self.env, check=True)
        processes = [self.actions, self.rasa, *self.gateways.values()]
        for process in processes:
            process.start()
        for process in processes:
            process.wait_until_up()

    def down(self) -> None:
        for process in [*self.gateways.values(), self.rasa, self.actions]:
            process.stop()
        self.services.down()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"


@pytest.fixture(scope="module")
def stack():
    yield from running("zhitang-handover-", HandoverStack)


def chat(stack: HandoverStack, gateway: str, session: str, text: str) -> dict:
    response = httpx.post(
        f"{stack.url(gateway)}/api/chat", json={"session": session, "text": text, "lang": "zh"}, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


def staff_client(stack: HandoverStack, gateway: str) -> tuple[httpx.Client, str]:
    """A staff member signed in to one gateway's admin; the client and its CSRF token."""
    client = httpx.Client(base_url=stack.url(gateway), timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/login").text).group(1)
    signed = client.post("/admin/login", data={"username": STAFF, "password": PASSWORD, "csrf_token": token})
    assert signed.status_code == 302, signed.text
    page = client.get("/admin/handover").text
    return client, re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def first_staff_event(stack: HandoverStack, gateway: str, session: str, after: int) -> dict:
    """Read a gateway's event stream of the conversation until staff say something."""
    url = f"{stack.url(gateway)}/api/handover/events?session={session}"
    with httpx.stream("GET", url, headers={"Last-Event-ID": str(after)}, timeout=30) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                data = json.loads(line[5:])
                if data.get("kind") == "staff":
                    return data
    raise AssertionError("the stream ended without the staff reply")


def test_a_handover_goes_on_when_the_residents_gateway_restarts(stack: HandoverStack):
    with session_factory(stack.kb_url)() as session, session.begin():
        create_user(session, STAFF, PASSWORD, "editor")
        desk.save_hours(session, "每天 0:00-24:00", "", 10, "scale-test")
    session_id = uuid.uuid4().hex
    queued = chat(stack, "a", session_id, "我要找人工")
    assert queued["handover"]["state"] == "waiting"
    handover_id = queued["handover"]["id"]

    staff, token = staff_client(stack, "b")
    assert staff.post(f"/admin/handover/{handover_id}/take", data={"csrf_token": token}).status_code == 303

    stack.gateways["a"].stop()  # mid-conversation
    stack.gateways["a"].start()
    stack.gateways["a"].wait_until_up()

    with session_factory(stack.kb_url)() as session:
        seen = desk.last_event_id(session)
    reply = "您好，我是镇工作人员。"
    assert (
        staff.post(f"/admin/handover/{handover_id}/reply", data={"csrf_token": token, "text": reply}).status_code == 303
    )
    assert first_staff_event(stack, "a", session_id, seen)["text"] == reply

    diverted = chat(stack, "a", session_id, "谢谢，我还想问尊老金")
    assert diverted["messages"] == [] and diverted["handover"]["state"] == "active"
    assert "谢谢，我还想问尊老金" in staff.get(f"/admin/handover?id={handover_id}").text

    assert staff.post(f"/admin/handover/{handover_id}/close", data={"csrf_token": token}).status_code == 303
    answered = chat(stack, "a", session_id, "尊老金发了多少?")
    assert "1428.35" in " ".join(m["text"] for m in answered["messages"])
