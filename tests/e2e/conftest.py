"""Start the action server and Rasa on free loopback ports, with a throw-away KB and tracker store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 240.0) -> None:
    """Poll a URL until it answers; fail with the server's log if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"{url} not up after {timeout}s:\n{log.read_text()[-3000:]}")


class Stack:
    """The running action server and Rasa, with a REST helper."""

    def __init__(self, rasa_url: str, action_url: str, kb_url: str, tracker_db: Path):
        self.rasa_url, self.action_url, self.kb_url, self.tracker_db = rasa_url, action_url, kb_url, tracker_db
        self.client = httpx.Client(timeout=30)

    def ask(self, text: str, sender: str | None = None) -> list[dict]:
        """Send one message on the REST channel; the bot's messages."""
        response = self.client.post(
            f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender or uuid.uuid4().hex, "message": text}
        )
        assert response.status_code == 200, response.text
        return response.json()


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Start a server process in its own process group, logging to a file."""
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen) -> None:
    """Stop a server process group."""
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole assistant, started once for the end-to-end tests."""
    if not list((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train`")
    tmp = tmp_path_factory.mktemp("stack")
    kb_url = f"sqlite:///{tmp / 'kb.sqlite3'}"
    env = {**os.environ, "KB_DATABASE_URL": kb_url, "PYTHONPATH": str(ROOT), "SANIC_HOST": "127.0.0.1"}
    subprocess.run([sys.executable, "-m", "kb", "build"], cwd=ROOT, env=env, check=True)
    action_port, rasa_port = free_port(), free_port()
    tracker_db = tmp / "tracker.db"
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{tracker_db}"\n'
    )
    actions = start(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(action_port)], env, tmp / "actions.log"
    )
    rasa = start(
        [
            str(RASA_BIN),
            "run",
            "--model",
            "models",
            "--interface",
            "127.0.0.1",
            "--port",
            str(rasa_port),
            "--endpoints",
            str(endpoints),
            "--credentials",
            "credentials.yml",
        ],
        env,
        tmp / "rasa.log",
    )
    try:
        wait_until_up(f"http://127.0.0.1:{action_port}/health", actions, tmp / "actions.log")
        wait_until_up(f"http://127.0.0.1:{rasa_port}/", rasa, tmp / "rasa.log")
        yield Stack(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{action_port}", kb_url, tracker_db)
    finally:
        stop(rasa)
        stop(actions)


@pytest.fixture(scope="session")
def embed_origin() -> str:
    """The origin of another site that embeds the widget (allowed by the gateway's CORS settings)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def gateway(stack: Stack, embed_origin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web gateway (uvicorn) on a free port, in front of the stack's Rasa and KB; its base URL."""
    tmp = tmp_path_factory.mktemp("gateway")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_URL": stack.rasa_url,
        "KB_DATABASE_URL": stack.kb_url,
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "ALLOWED_ORIGINS": embed_origin,
        # The browser tests share one address; the limits themselves are tested in tests/gateway.
        "RATE_LIMIT_SESSION": "1000/minute",
        "RATE_LIMIT_ADDRESS": "10000/minute",
    }
    proc = start([sys.executable, "-m", "bot.gateway"], env, tmp / "gateway.log")
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, tmp / "gateway.log", timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: `apt-get install -y chromium` (make installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, gateway):
    """Open the town page in a fresh browser profile: open_page(locale="zh-CN", width=1280, height=800)."""
    contexts = []

    def _open(locale: str = "zh-CN", width: int = 1280, height: int = 800, path: str = "/"):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        # nothing beyond 127.0.0.1 (the gateway, or a test page embedding the widget)
        context.route(lambda url: not url.startswith("http://127.0.0.1:"), lambda route: route.abort())
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # uncaught script errors and console errors (a CSP violation is one)
        page.on("pageerror", lambda err: page.errors.append(str(err)))
        page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
        page.goto(path if path.startswith("http") else gateway + path)
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def embed_page(gateway: str, embed_origin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another site's page (plain http.server) that embeds the widget with its one script tag; its URL."""
    tmp = tmp_path_factory.mktemp("embed")
    (tmp / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Village news</title></head>'
        "<body><h1>Village news</h1>"
        f'<script src="{gateway}/static/widget.js" data-gateway="{gateway}" data-lang="en" defer></script>'
        "</body></html>",
        encoding="utf-8",
    )
    port = embed_origin.rsplit(":", 1)[1]
    cmd = [sys.executable, "-m", "http.server", port, "--bind", "127.0.0.1", "--directory", str(tmp)]
    proc = start(cmd, dict(os.environ), tmp / "http.log")
    try:
        wait_until_up(f"{embed_origin}/index.html", proc, tmp / "http.log", timeout=30)
        yield f"{embed_origin}/index.html"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def dead_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway whose Rasa is not running (nothing listens at RASA_URL); its base URL."""
    tmp = tmp_path_factory.mktemp("dead-gateway")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "RASA_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "RASA_TIMEOUT": "3",
    }
    proc = start([sys.executable, "-m", "bot.gateway"], env, tmp / "gateway.log")
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, tmp / "gateway.log", timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)
