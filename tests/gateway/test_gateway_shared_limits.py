"""Several gateways, one rate limit: counts kept in a shared Redis (here fakeredis; tests/scale uses a real one).

A resident whose requests a load balancer spreads over two gateways gets the allowance once, not once per gateway.
Without a shared Redis, or while it is unreachable, each gateway still enforces the limit on its own.
"""

from __future__ import annotations

import logging

import fakeredis
import pytest

from bot.web.gateway import ratelimit
from bot.web.gateway.ratelimit import RateLimiter
from tests.gateway.conftest import SESSION

REDIS_URL = "redis://127.0.0.1:6379/2"  # never dialled: the fake Redis's connection pool answers


def body(session: str = SESSION, text: str = "尊老金发了多少?") -> dict:
    return {"session": session, "text": text}


def shared_limiter(server: fakeredis.FakeServer, **limits: str) -> RateLimiter:
    """A gateway's limiter counting in the Redis `server` (each gateway has its own connection to it)."""
    connection = fakeredis.FakeAsyncRedis(server=server)
    return RateLimiter(limits, REDIS_URL, connection_pool=connection.connection_pool)


async def statuses(clients, requests: int, make_body=lambda n: body(session=f"session-{n:04d}")) -> list[int]:
    """Status codes of `requests` chat requests sent to the clients in turn (a round-robin balancer)."""
    return [(await clients[n % len(clients)].post("/api/chat", json=make_body(n))).status_code for n in range(requests)]


async def test_two_gateways_sharing_redis_enforce_one_address_limit(make_client, rasa):
    """5/minute per address over two gateways: the 6th request is refused whichever gateway gets it."""
    server = fakeredis.FakeServer()
    limits = {"session": "100/minute", "address": "5/minute"}
    gateways = [make_client(limiter=shared_limiter(server, **limits)) for _ in range(2)]
    assert await statuses(gateways, 8) == [200] * 5 + [429] * 3
    assert len(rasa.routes["webhook"].calls) == 5
    refused = await gateways[0].post("/api/chat", json=body(session="session-9999"))
    assert refused.json()["error"] == "rate_limited" and 1 <= int(refused.headers["retry-after"]) <= 60


async def test_a_conversation_spread_over_two_gateways_gets_one_session_allowance(make_client, rasa):
    """3 messages per conversation: the 4th is refused even though each gateway has seen at most 2."""
    server = fakeredis.FakeServer()
    limits = {"session": "3/minute", "address": "100/minute"}
    gateways = [make_client(limiter=shared_limiter(server, **limits)) for _ in range(2)]
    assert await statuses(gateways, 4, lambda n: body()) == [200, 200, 200, 429]
    assert (await gateways[1].post("/api/chat", json=body(session="other-session-1"))).status_code == 200


async def test_gateways_counting_in_memory_each_give_the_whole_allowance(make_client, rasa):
    """Why the limits go to Redis: with memory:// (one gateway's default) two gateways allow twice as much."""
    gateways = [make_client(address_limit="5/minute") for _ in range(2)]
    assert await statuses(gateways, 10) == [200] * 10
    assert await statuses(gateways, 2) == [429] * 2


async def test_while_redis_is_unreachable_each_gateway_still_enforces_the_limit(make_client, rasa, monkeypatch, caplog):
    """Redis down: no 5xx, each gateway counts alone and says so in the log; Redis back: shared counts again."""
    monkeypatch.setattr(ratelimit, "SHARED_RETRY_SECONDS", 0.0)  # try Redis again at every request
    server = fakeredis.FakeServer()
    limits = {"session": "100/minute", "address": "3/minute"}
    gateway = make_client(limiter=shared_limiter(server, **limits))
    server.connected = False
    with caplog.at_level(logging.WARNING, logger=ratelimit.__name__):
        assert await statuses([gateway], 4) == [200, 200, 200, 429]
    assert "rate-limit storage unreachable" in caplog.text
    server.connected = True
    other = make_client(limiter=shared_limiter(server, **limits))  # a second gateway, the same resident
    assert await statuses([other, gateway], 4) == [200, 200, 200, 429], "back to one shared count"


async def test_an_unreachable_redis_url_falls_back_after_a_short_timeout():
    """A real redis:// URL (redis-py, no coredis) whose server is down: the hit is counted locally, quickly."""
    limiter = RateLimiter({"session": "1/minute"}, "redis://:secret@127.0.0.1:1/2")
    assert limiter.shared
    assert (await limiter.hit("session", "a")).allowed
    assert not (await limiter.hit("session", "a")).allowed
    assert limiter.shared_down_until > 0


@pytest.mark.parametrize("uri", ["memory://", "async+memory://"])
def test_memory_storage_is_this_gateways_own(uri):
    assert not RateLimiter({"session": "1/minute"}, uri).shared
