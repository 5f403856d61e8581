"""The admin's CSRF middleware reads a POST body within limits: size by Content-Length, a small cap, a deadline.

Finding 5 of issue 10: the middleware buffered up to 10 MB of any anonymous POST, appending in quadratic time and
without a timeout, so 40 stalled uploads held 430 MB. Now a body is refused by its declared length before a byte
is read, the cap is small except for a signed-in staff member's YAML import, a body that stalls gets 408, and the
bytes are gathered in linear time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from bot import settings
from bot.web.admin import security
from bot.web.admin.security import CSRFMiddleware
from kb import exchange as kb_exchange

TOKEN = "t" * 43
IMPORT_PATH = "/admin/exchange/import-yaml"


class Exchange:
    """One request driven through the middleware: what the client sends, what the app saw, what came back."""

    def __init__(self, chunks: Callable[[], Awaitable[dict]], path: str = "/admin/entry/edit/x", **options):
        self.chunks, self.path, self.options = chunks, path, options
        self.bytes_read = self.reads = 0
        self.app_body: bytes | None = None
        self.status: int | None = None
        self.body = b""

    async def receive(self) -> dict:
        self.reads += 1
        await asyncio.sleep(0)  # a real server's receive() suspends: the middleware's deadline can fire
        message = await self.chunks()
        self.bytes_read += len(message.get("body", b""))
        return message

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        else:
            self.body += message.get("body", b"")

    async def app(self, scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.app_body = body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def run(self, length: int | None = None, signed_in: bool = False, timeout: float = 5.0) -> Exchange:
        headers = [(b"x-csrf-token", TOKEN.encode()), (b"content-type", b"application/octet-stream")]
        if length is not None:
            headers.append((b"content-length", str(length).encode()))
        session = {"csrf": TOKEN, **({"user": "wang"} if signed_in else {})}
        scope = {"type": "http", "method": "POST", "path": self.path, "headers": headers, "session": session}
        await asyncio.wait_for(CSRFMiddleware(self.app)(scope, self.receive, self.send), timeout)
        return self


def endless(size: int) -> Callable[[], Awaitable[dict]]:
    """A client that keeps sending chunks of `size` bytes and never says it is done."""

    async def chunk() -> dict:
        return {"type": "http.request", "body": b"x" * size, "more_body": True}

    return chunk


def body_of(total: int, size: int) -> Callable[[], Awaitable[dict]]:
    """A client that sends `total` bytes in chunks of `size`."""
    left = total

    async def chunk() -> dict:
        nonlocal left
        part = min(size, left)
        left -= part
        return {"type": "http.request", "body": b"x" * part, "more_body": left > 0}

    return chunk


async def test_an_oversized_content_length_is_refused_with_413_before_any_byte_is_read():
    exchange = await Exchange(endless(65_536)).run(length=50 * 1024 * 1024)
    assert exchange.status == 413
    assert exchange.reads == 0
    assert exchange.app_body is None


async def test_an_anonymous_post_without_content_length_is_cut_off_at_the_small_cap():
    exchange = await Exchange(endless(16_384)).run()
    assert exchange.status == 413
    assert exchange.bytes_read <= security.FORM_BODY_LIMIT + 16_384, f"read {exchange.bytes_read:,} bytes"
    assert exchange.app_body is None


async def test_an_anonymous_post_to_the_import_page_gets_only_the_small_cap():
    exchange = await Exchange(endless(16_384), IMPORT_PATH).run()
    assert exchange.status == 413
    assert exchange.bytes_read <= security.FORM_BODY_LIMIT + 16_384, f"read {exchange.bytes_read:,} bytes"


async def test_a_signed_in_editor_may_send_a_whole_import_file():
    size = kb_exchange.MAX_IMPORT_BYTES
    exchange = await Exchange(body_of(size, 65_536), IMPORT_PATH).run(length=size, signed_in=True)
    assert exchange.status == 200
    assert exchange.app_body is not None and len(exchange.app_body) == size


async def test_a_signed_in_form_elsewhere_keeps_the_small_cap():
    exchange = await Exchange(body_of(2 * security.FORM_BODY_LIMIT, 65_536)).run(signed_in=True)
    assert exchange.status == 413


def form_start_then(after: Callable[[], Awaitable[dict]]) -> Callable[[], Awaitable[dict]]:
    """A client's `receive`: the first bytes of a form body, then whatever `after` gives."""
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"csrf_token=", "more_body": True}
        return await after()

    return receive


async def never() -> dict:
    """The client never sends the rest."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def leave() -> dict:
    """The client goes away."""
    return {"type": "http.disconnect"}


async def test_a_body_that_stalls_gets_408_once_the_body_timeout_passes(monkeypatch):
    monkeypatch.setattr(settings, "BODY_TIMEOUT", 0.3)
    started = time.perf_counter()
    exchange = await Exchange(form_start_then(never)).run(timeout=5.0)
    assert exchange.status == 408
    assert 0.3 <= time.perf_counter() - started < 2.0
    assert exchange.app_body is None


async def test_a_body_dripping_slowly_is_cut_by_the_same_deadline(monkeypatch):
    monkeypatch.setattr(settings, "BODY_TIMEOUT", 0.5)

    async def drip() -> dict:
        await asyncio.sleep(0.05)  # never idle for long, but never finishing
        return {"type": "http.request", "body": b"x", "more_body": True}

    exchange = await Exchange(drip).run(timeout=5.0)
    assert exchange.status == 408


async def test_a_client_that_goes_away_mid_body_reaches_nothing():
    exchange = await Exchange(form_start_then(leave)).run()
    assert exchange.app_body is None and exchange.status is None


async def _read_seconds(total: int) -> float:
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        exchange = await Exchange(body_of(total, 1_024), IMPORT_PATH).run(length=total, signed_in=True, timeout=60)
        best = min(best, time.perf_counter() - started)
        assert exchange.status == 200
    return best


async def test_gathering_the_body_takes_time_linear_in_its_size():
    small, large = await _read_seconds(512 * 1024), await _read_seconds(5 * 1024 * 1024)
    # Ten times the bytes in 1 KB chunks: about ten times the time (appending to bytes takes about a hundred).
    assert large / small < 30, f"{small:.3f} s vs {large:.3f} s: x{large / small:.0f}"


@pytest.mark.parametrize("length", ["12abc", "-5"])
async def test_a_malformed_content_length_is_a_400(length):
    exchange = Exchange(endless(1))
    headers = [(b"x-csrf-token", TOKEN.encode()), (b"content-length", length.encode())]
    scope = {"type": "http", "method": "POST", "path": "/admin/login", "headers": headers, "session": {"csrf": TOKEN}}
    await asyncio.wait_for(CSRFMiddleware(exchange.app)(scope, exchange.receive, exchange.send), 5)
    assert exchange.status == 400 and exchange.reads == 0
