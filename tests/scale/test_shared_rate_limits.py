"""Two gateways sharing the scale-out Redis enforce one rate limit; Redis stopping does not stop the gateways.

The gateways are the real app (create_app) in this process, their Rasa faked (the limits are checked before
Rasa is asked), their limits counted in a real Redis from Debian's package, started by bot.ops.services as
`make run-scaled` does. Run by `make test-scale`.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from scale_helpers import running

from bot import settings
from bot.ops import launcher
from bot.ops.scaled import ScaledStack
from bot.ops.services import Services
from bot.web.app import create_app
from bot.web.gateway import ratelimit
from bot.web.gateway.ratelimit import RateLimiter

FAKE_RASA = "http://rasa.test"
ANSWER = [{"recipient_id": "x", "text": "尊老金由镇民政办发放。"}]


class RedisOnly:
    """The scale-out Redis without PostgreSQL."""

    def __init__(self, base: Path):
        self.services = Services(base, redis_port=launcher.free_port())

    def up(self) -> None:
        self.services.up_redis()

    def down(self) -> None:
        self.services.down_redis()


@pytest.fixture(scope="module")
def redis_server():
    yield from running("zhitang-limits-", RedisOnly)


@pytest.fixture
async def gateways(redis_server, monkeypatch):
    """Two gateways of one resident (same address), limits 4/minute per address, counted in db 2 of Redis."""
    monkeypatch.setattr(settings, "RASA_URL", FAKE_RASA)
    url = redis_server.services.redis_db_url(2)
    limiters = [RateLimiter({"session": "100/minute", "address": "4/minute"}, url) for _ in range(2)]
    await limiters[0].reset()  # counts of an earlier test
    clients = []
    for limiter in limiters:
        app = create_app(limiter=limiter)
        transport = httpx.ASGITransport(app, raise_app_exceptions=False, client=("203.0.113.50", 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{FAKE_RASA}/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=ANSWER))
        yield clients


async def statuses(clients, start: int, requests: int) -> list[int]:
    """Status codes of chat requests sent round-robin to the gateways, each in a new conversation."""
    codes = []
    for n in range(start, start + requests):
        body = {"session": f"session-{n:06d}", "text": "尊老金怎么领?"}
        codes.append((await clients[n % len(clients)].post("/api/chat", json=body)).status_code)
    return codes


def test_the_scaled_stack_counts_rate_limits_in_its_redis(tmp_path):
    stack = ScaledStack(tmp_path, replicas=1, redis_port=6399)
    assert stack.gateway_env()["ZHITANG_RATE_LIMIT_STORAGE"] == stack.services.redis_db_url(2)


async def test_a_resident_cannot_double_the_allowance_by_hitting_two_gateways(gateways):
    assert await statuses(gateways, 0, 6) == [200, 200, 200, 200, 429, 429]


async def test_with_redis_stopped_each_gateway_counts_alone_then_shares_again(gateways, redis_server, monkeypatch):
    """Redis down: no 5xx, each gateway allows 4 on its own; Redis back: one count again."""
    monkeypatch.setattr(ratelimit, "SHARED_RETRY_SECONDS", 0.0)
    redis_server.services.down_redis()
    try:
        assert await statuses(gateways, 100, 10) == [200] * 8 + [429] * 2
    finally:
        redis_server.services.up_redis()
    assert await statuses(gateways, 200, 6) == [200, 200, 200, 200, 429, 429]
