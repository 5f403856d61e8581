"""`make run`'s supervisor (bot.ops.supervisor): a process killed with -9 is started again, with backoff, and the
gateway keeps answering; the others are never stopped.

The real test runs `python -m bot.ops.supervisor` on the project's own Procfile (only the ports, the KB, the
tracker store and the endpoints file are this test's), kills the action server, then Rasa, with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from bot.ops import launcher
from bot.ops.supervisor import Supervisor


def test_backoff_doubles_and_resets(tmp_path):
    """A process that keeps dying waits 1, 2, 4 ... s (up to the maximum); the others keep running."""
    dying = launcher.Process(
        "dying", [sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ), tmp_path / "d", ""
    )
    steady = launcher.Process(
        "steady", [sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ), tmp_path / "s", ""
    )
    lines: list[str] = []
    supervisor = Supervisor([dying, steady], log=lines.append, first_delay=0.2, max_delay=0.8, stable_after=60)
    supervisor.start()
    try:
        steady_pid = steady.popen.pid
        deadline = time.monotonic() + 15
        while supervisor.watched_named("dying").restarts < 4 and time.monotonic() < deadline:
            supervisor.check()
            time.sleep(0.05)
        watched = supervisor.watched_named("dying")
        assert watched.restarts >= 4 and set(watched.exits) == {3}
        assert watched.waits[:4] == [0.2, 0.4, 0.8, 0.8]  # doubling, up to the maximum
        assert "dying exited (3); restarting in 0.2 s" in lines[0]
        assert watched.delay == 0.8
        assert steady.popen.pid == steady_pid and steady.popen.poll() is None
    finally:
        supervisor.stop()
    assert steady.popen.poll() is not None


def _wait(url: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not up after {seconds} s")


def _child(supervisor_pid: int, marker: str) -> int:
    """The pid of the supervisor's child whose command line holds `marker`."""
    for pid in subprocess.run(["pgrep", "-P", str(supervisor_pid)], capture_output=True, text=True).stdout.split():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        if marker in cmdline:
            return int(pid)
    raise AssertionError(f"no child {marker!r} of {supervisor_pid}")


@pytest.fixture(scope="module")
def procfile_stack(tmp_path_factory):
    """The project's Procfile under `python -m bot.ops.supervisor`, on free ports with a throw-away KB."""
    base = tmp_path_factory.mktemp("supervised")
    ports = {name: launcher.free_port() for name in ("ACTION", "RASA", "GATEWAY")}
    env = launcher.base_env(
        ZHITANG_VAR_DIR=str(base),
        ZHITANG_KB_DATABASE_URL=f"sqlite:///{base / 'kb.sqlite3'}",
        ZHITANG_TRACKER_DATABASE_URL=f"sqlite:///{base / 'tracker.db'}",
        ZHITANG_ACTION_PORT=str(ports["ACTION"]),
        ZHITANG_RASA_PORT=str(ports["RASA"]),
        ZHITANG_GATEWAY_PORT=str(ports["GATEWAY"]),
        GATEWAY_PORT=str(ports["GATEWAY"]),
        ZHITANG_RASA_URL=f"http://127.0.0.1:{ports['RASA']}",
        ZHITANG_RATE_LIMIT_ADDRESS="100000/minute",
        ZHITANG_RATE_LIMIT_SESSION="100000/minute",
    )
    subprocess.run([str(launcher.APP_PYTHON), "-m", "kb", "build"], cwd=launcher.ROOT, env=env, check=True)
    endpoints = launcher.write_endpoints(
        base / "endpoints.yml", f"http://127.0.0.1:{ports['ACTION']}/webhook", base / "tracker.db"
    )
    procfile = (launcher.ROOT / "Procfile").read_text(encoding="utf-8")
    assert "--endpoints endpoints.yml" in procfile
    (base / "Procfile").write_text(procfile.replace("--endpoints endpoints.yml", f"--endpoints {endpoints}"))
    log = (base / "supervisor.log").open("w")
    supervisor = subprocess.Popen(
        [str(launcher.APP_PYTHON), "-m", "bot.ops.supervisor", str(base / "Procfile"), "--root", str(launcher.ROOT)],
        cwd=launcher.ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for url in (
            f"http://127.0.0.1:{ports['ACTION']}/health",
            f"http://127.0.0.1:{ports['RASA']}/",
            f"http://127.0.0.1:{ports['GATEWAY']}/healthz",
        ):
            _wait(url)
        yield supervisor, ports, base / "supervisor.log"
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(supervisor.pid, signal.SIGKILL)
        log.close()


def _chat(port: int, text: str) -> tuple[int, str]:
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/chat",
        json={"session": uuid.uuid4().hex, "text": text},
        headers={"Origin": f"http://127.0.0.1:{port}"},
        timeout=60,
    )
    body = response.json()
    return response.status_code, " ".join(m.get("text", "") for m in body.get("messages", []))


@pytest.mark.parametrize(
    "victim, marker, health", [("actions", "bot.ops.action_server", "ACTION"), ("rasa", "rasa run", "RASA")]
)
def test_a_process_killed_with_9_comes_back_and_the_gateway_stays_up(procfile_stack, victim, marker, health):
    """kill -9 of the action server or Rasa: it is started again; the gateway answers all along."""
    supervisor, ports, log = procfile_stack
    gateway_pid = _child(supervisor.pid, "bot.web")
    status, text = _chat(ports["GATEWAY"], "尊老金发了多少?")
    assert status == 200 and text.strip()
    killed = _child(supervisor.pid, marker)
    os.kill(killed, signal.SIGKILL)
    health_url = (
        f"http://127.0.0.1:{ports[health]}/health" if health == "ACTION" else f"http://127.0.0.1:{ports[health]}/"
    )
    gateway_answers = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        gateway_answers.append(httpx.get(f"http://127.0.0.1:{ports['GATEWAY']}/healthz", timeout=5).status_code)
        try:
            if httpx.get(health_url, timeout=2).status_code == 200 and _child(supervisor.pid, marker) != killed:
                break
        except (httpx.HTTPError, AssertionError):
            pass
        time.sleep(0.5)
    else:
        raise AssertionError(f"{victim} did not come back:\n{log.read_text()[-3000:]}")
    assert set(gateway_answers) == {200}, "the gateway stayed up"
    assert _child(supervisor.pid, "bot.web") == gateway_pid, "the gateway was not restarted"
    assert supervisor.poll() is None
    assert f"{victim} exited (-9)" in log.read_text()
    status, text = _chat(ports["GATEWAY"], "How much is the elder allowance?")
    assert status == 200 and text.strip()
