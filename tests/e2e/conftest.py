"""Start the action server and Rasa on free loopback ports, with a throw-away KB and tracker store."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bot.ops import launcher

ROOT = launcher.ROOT


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


@contextmanager
def running(*processes: launcher.Process, timeout: float = 240.0) -> Iterator[None]:
    """Start processes in order, wait until each answers (failing the test with its log if not), stop them."""
    try:
        for process in processes:
            process.start()
            try:
                process.wait_until_up(timeout)
            except RuntimeError as err:
                pytest.fail(str(err))
        yield
    finally:
        for process in reversed(processes):
            process.stop()


def gateway_env(**extra: str) -> dict[str, str]:
    """Environment of a test gateway (its own admin session key, so nothing is written to var/)."""
    return launcher.base_env(ZHITANG_ADMIN_SECRET="e2e-test-secret", **extra)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole assistant, started once for the end-to-end tests."""
    if not list((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train`")
    tmp = tmp_path_factory.mktemp("stack")
    kb_url = f"sqlite:///{tmp / 'kb.sqlite3'}"
    env = launcher.base_env(ZHITANG_KB_DATABASE_URL=kb_url)
    subprocess.run([sys.executable, "-m", "kb", "build"], cwd=ROOT, env=env, check=True)
    action_port, rasa_port = launcher.free_port(), launcher.free_port()
    tracker_db = tmp / "tracker.db"
    endpoints = launcher.write_endpoints(tmp / "endpoints.yml", f"http://127.0.0.1:{action_port}/webhook", tracker_db)
    actions = launcher.action_server(action_port, env, tmp / "actions.log")
    rasa = launcher.rasa_server(rasa_port, endpoints, env, tmp / "rasa.log")
    with running(actions, rasa):
        yield Stack(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{action_port}", kb_url, tracker_db)


@pytest.fixture(scope="session")
def embed_origin() -> str:
    """The origin of another site that embeds the widget (allowed by the gateway's CORS settings)."""
    return f"http://127.0.0.1:{launcher.free_port()}"


@pytest.fixture(scope="session")
def gateway(stack: Stack, embed_origin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web gateway (uvicorn) on a free port, in front of the stack's Rasa and KB; its base URL."""
    tmp = tmp_path_factory.mktemp("gateway")
    port = launcher.free_port()
    env = gateway_env(
        ZHITANG_RASA_URL=stack.rasa_url,
        ZHITANG_KB_DATABASE_URL=stack.kb_url,
        ZHITANG_TRACKER_DATABASE_URL=f"sqlite:///{stack.tracker_db}",
        ZHITANG_ALLOWED_ORIGINS=embed_origin,
        # The browser tests share one address, and several staff sign in from it within a minute; the limits
        # themselves are tested in tests/gateway and tests/admin.
        ZHITANG_RATE_LIMIT_SESSION="1000/minute",
        ZHITANG_RATE_LIMIT_ADDRESS="10000/minute",
        ZHITANG_ADMIN_LOGIN_LIMIT="1000/minute",
    )
    with running(launcher.gateway(port, env, tmp / "gateway.log"), timeout=60):
        yield f"http://127.0.0.1:{port}"


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
    server = launcher.Process("embed-page", cmd, dict(os.environ), tmp / "http.log", f"{embed_origin}/index.html")
    with running(server, timeout=30):
        yield f"{embed_origin}/index.html"


@pytest.fixture(scope="session")
def dead_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway whose Rasa is not running (nothing listens at RASA_URL); its base URL."""
    tmp = tmp_path_factory.mktemp("dead-gateway")
    port = launcher.free_port()
    nowhere = f"http://127.0.0.1:{launcher.free_port()}"  # nothing listens there
    env = gateway_env(ZHITANG_RASA_URL=nowhere, ZHITANG_RASA_TIMEOUT="3")
    with running(launcher.gateway(port, env, tmp / "gateway.log"), timeout=60):
        yield f"http://127.0.0.1:{port}"
