"""Finding 8: the internal endpoints trust only the processes that hold the shared secret.

Rasa → action server: Rasa sends `Authorization: Bearer $ZHITANG_ACTION_SECRET` (endpoints.yml); the action
server refuses any webhook without it. Gateway → Rasa: the gateway sends `Authorization: Bearer
$ZHITANG_RASA_TOKEN` when one is configured (scale-out, Kubernetes); the REST channel's side is tested in
tests/rasa/test_channel_token.py. The secrets, when not set, are generated once with mode 0600.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import respx
import sqlalchemy as sa
import yaml

from bot import settings
from bot.ops import launcher
from bot.ops.scaled import ScaledStack, write_scaled_endpoints
from bot.web.gateway.rasa_client import WEBHOOK, RasaClient
from tests.trackers import tracker_dict

ROOT = launcher.ROOT
SECRET = "test-action-secret-3f9a1c"
FORGED_QUESTION = "伪造的问题：火星移民补贴发多少"


def forged_call(text: str = FORGED_QUESTION) -> dict:
    """A webhook call as Rasa makes it, for someone else's conversation, asking something the KB cannot answer."""
    return {
        "next_action": "action_triage_low_confidence",
        "sender_id": "someone-else",
        "version": "3.6.21",
        "domain": {},
        "tracker": tracker_dict(text, "nlu_fallback", 0.1, [], {"language": "zh"}, sender="someone-else"),
    }


class ActionServer:
    """A real action server on a free port, with its own KB, started the way the tests and bench start it."""

    def __init__(self, base: Path):
        self.kb_url = f"sqlite:///{base / 'kb.sqlite3'}"
        env = launcher.base_env(
            ZHITANG_KB_DATABASE_URL=self.kb_url, ZHITANG_ACTION_SECRET=SECRET, ZHITANG_VAR_DIR=str(base / "var")
        )
        subprocess.run([str(launcher.APP_PYTHON), "-m", "kb", "build"], cwd=ROOT, env=env, check=True)
        port = launcher.free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = launcher.action_server(port, env, base / "actions.log")

    def unanswered(self) -> list[str]:
        engine = sa.create_engine(self.kb_url)
        try:
            with engine.connect() as db:
                return list(db.scalars(sa.text("select text from unanswered_question")))
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory):
    server = ActionServer(tmp_path_factory.mktemp("actions"))
    server.process.start()
    try:
        server.process.wait_until_up(timeout=120)
        yield server
    finally:
        server.process.stop()


def test_a_forged_webhook_is_refused_and_writes_nothing(action_server: ActionServer):
    response = httpx.post(action_server.url + "/webhook", json=forged_call(), timeout=30)
    assert response.status_code in (401, 403), response.text
    assert FORGED_QUESTION not in response.text
    assert FORGED_QUESTION not in action_server.unanswered()


def test_a_webhook_with_a_wrong_secret_is_refused(action_server: ActionServer):
    headers = {"Authorization": "Bearer not-the-secret"}
    response = httpx.post(action_server.url + "/webhook", json=forged_call(), headers=headers, timeout=30)
    assert response.status_code in (401, 403)
    assert FORGED_QUESTION not in action_server.unanswered()


def test_the_secret_in_a_query_string_is_not_enough(action_server: ActionServer):
    """Only the header counts: query strings end up in access logs."""
    response = httpx.post(action_server.url + "/webhook", params={"token": SECRET}, json=forged_call(), timeout=30)
    assert response.status_code in (401, 403)


def test_the_list_of_actions_needs_the_secret_too(action_server: ActionServer):
    assert httpx.get(action_server.url + "/actions", timeout=30).status_code in (401, 403)


def test_rasas_webhook_with_the_secret_is_answered(action_server: ActionServer):
    """What Rasa sends (the secret in the Authorization header) is served as before."""
    question = "火星移民补贴一年发多少"
    headers = {"Authorization": f"Bearer {SECRET}"}
    response = httpx.post(action_server.url + "/webhook", json=forged_call(question), headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["responses"], "the action answered"
    assert question in action_server.unanswered()


def test_the_health_check_stays_open(action_server: ActionServer):
    """Probes (launcher, Kubernetes) hold no secret."""
    assert httpx.get(action_server.url + "/health", timeout=30).status_code == 200


# --- Rasa is given the secret wherever it is started ----------------------------------------------------------


def action_endpoint(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["action_endpoint"]


def test_make_runs_endpoints_yml_sends_the_secret_as_a_header():
    """Rasa expands ${ZHITANG_ACTION_SECRET} when it reads endpoints.yml (unquoted, as Rasa requires)."""
    endpoint = action_endpoint(ROOT / "endpoints.yml")
    assert endpoint["headers"]["Authorization"] == "Bearer ${ZHITANG_ACTION_SECRET}"
    assert "Authorization: Bearer ${ZHITANG_ACTION_SECRET}\n" in (ROOT / "endpoints.yml").read_text(encoding="utf-8")


def test_the_launchers_endpoints_and_processes_share_one_secret(tmp_path: Path):
    """e2e, fault tests and bench: write_endpoints + action_server + rasa_server agree without being told."""
    endpoints = launcher.write_endpoints(tmp_path / "endpoints.yml", "http://127.0.0.1:1/webhook", tmp_path / "t.db")
    assert action_endpoint(endpoints)["headers"]["Authorization"] == "Bearer ${ZHITANG_ACTION_SECRET}"
    env = {k: v for k, v in launcher.base_env(ZHITANG_VAR_DIR=str(tmp_path)).items() if k != "ZHITANG_ACTION_SECRET"}
    actions = launcher.action_server(1, env, tmp_path / "a.log")
    rasa = launcher.rasa_server(2, endpoints, env, tmp_path / "r.log")
    assert actions.env["ZHITANG_ACTION_SECRET"] == rasa.env["ZHITANG_ACTION_SECRET"]
    assert len(rasa.env["ZHITANG_ACTION_SECRET"]) >= 32
    assert "bot.ops.action_server" in actions.cmd


def test_make_run_gives_rasa_the_secret_the_action_server_checks(tmp_path: Path):
    """The Procfile's actions line runs the checking server; its rasa line is started with the same secret."""
    lines = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines() if ": " in line
    )
    assert "-m bot.ops.action_server " in lines["actions"]
    assert lines["gateway"] == ".venv/bin/python -m bot.web"
    rasa = shlex.split(lines["rasa"])
    wrapper = rasa[: rasa.index("--") + 1]
    assert rasa[len(wrapper)] == ".venv-rasa/bin/rasa"
    env = {k: v for k, v in os.environ.items() if k != "ZHITANG_ACTION_SECRET"}
    env.update(PYTHONPATH=str(ROOT), ZHITANG_VAR_DIR=str(tmp_path))
    script = "import os; print(os.environ['ZHITANG_ACTION_SECRET'])"
    seen = subprocess.run([*wrapper, sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert seen.returncode == 0, seen.stderr
    from bot.ops import secrets

    assert seen.stdout.strip() == secrets.action_secret(tmp_path, environ={})


def test_scale_out_gives_each_process_the_secrets_it_needs(tmp_path: Path):
    stack = ScaledStack(tmp_path, replicas=1, extra_env={})
    actions, rasa, gateway = stack.actions_env(), stack.rasa_env(), stack.gateway_env()
    assert actions["ZHITANG_ACTION_SECRET"] == rasa["ZHITANG_ACTION_SECRET"]
    assert rasa["ZHITANG_RASA_TOKEN"] == gateway["ZHITANG_RASA_TOKEN"]
    assert len(rasa["ZHITANG_RASA_TOKEN"]) >= 32
    assert "ZHITANG_RASA_TOKEN" not in actions and "ZHITANG_ACTION_SECRET" not in gateway
    endpoints = write_scaled_endpoints(tmp_path / "e.yml", "http://127.0.0.1:1/webhook", stack.services)
    assert action_endpoint(endpoints)["headers"]["Authorization"] == "Bearer ${ZHITANG_ACTION_SECRET}"


# --- The generated secrets -------------------------------------------------------------------------------------


def test_a_generated_secret_is_private_long_and_stable(tmp_path: Path):
    from bot.ops import secrets

    path = tmp_path / "var" / "action-secret.key"
    first = secrets.secret_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert secrets.secret_file(path) == first


def test_processes_starting_together_agree_on_one_secret(tmp_path: Path):
    """Honcho starts the action server and Rasa at the same time: both must end up with the same secret."""
    from bot.ops import secrets

    path = tmp_path / "action-secret.key"
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(secrets.secret_file(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and len(set(seen)) == 1


def test_a_secret_set_in_the_environment_wins_over_the_file(tmp_path: Path):
    from bot.ops import secrets

    assert secrets.action_secret(tmp_path, environ={"ZHITANG_ACTION_SECRET": "from-env"}) == "from-env"
    assert not (tmp_path / "action-secret.key").exists()


# --- Gateway → Rasa --------------------------------------------------------------------------------------------


async def _headers_the_gateway_sends(monkeypatch: pytest.MonkeyPatch, token: str) -> dict[str, str]:
    """The headers of the gateway's request to Rasa's REST channel, with ZHITANG_RASA_TOKEN set to `token`."""
    monkeypatch.setattr(settings, "RASA_TOKEN", token, raising=False)
    with respx.mock:
        route = respx.post("http://rasa.test" + WEBHOOK).respond(json=[{"text": "好的"}])
        client = RasaClient(base_url="http://rasa.test")
        try:
            await client.send("s1", "你好")
        finally:
            await client.aclose()
        return dict(route.calls.last.request.headers)


async def test_the_gateway_sends_the_rasa_token_when_one_is_configured(monkeypatch: pytest.MonkeyPatch):
    headers = await _headers_the_gateway_sends(monkeypatch, "rasa-token-xyz")
    assert headers["authorization"] == "Bearer rasa-token-xyz"


async def test_without_a_token_the_gateway_sends_no_authorization(monkeypatch: pytest.MonkeyPatch):
    """Local mode (`make run`): Rasa's channel is open on 127.0.0.1, nothing to send."""
    assert "authorization" not in await _headers_the_gateway_sends(monkeypatch, "")
