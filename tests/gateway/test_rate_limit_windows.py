"""The two ways of counting (bot/web/gateway/ratelimit.py): residents' messages by two counters per key (cheap,
and near a window's edge one more may pass), staff sign-ins exactly (the tenth wrong password is the last)."""

from __future__ import annotations

import time

from bot.web.gateway.ratelimit import RateLimiter


async def burst_across_a_minute(limiter: RateLimiter, monkeypatch, clock: list[float]) -> list[bool]:
    """Ten hits, five just before a minute ends and five just after it, then one more."""
    monkeypatch.setattr(time, "time", lambda: clock[0])
    verdicts = []
    for at in [59.5] * 5 + [60.5] * 5 + [60.6]:
        clock[0] = 1_800_000_000.0 - 1_800_000_000.0 % 60 + at
        verdicts.append((await limiter.hit("login", "10.0.0.1", scope="admin")).allowed)
    return verdicts


async def test_staff_sign_ins_are_counted_exactly_across_a_windows_edge(monkeypatch):
    verdicts = await burst_across_a_minute(RateLimiter({"login": "10/minute"}, exact=True), monkeypatch, [0.0])
    assert verdicts == [True] * 10 + [False]


async def test_the_two_counter_window_is_what_lets_one_more_through_there(monkeypatch):
    """Why sign-ins need `exact`: the approximation weighs the last minute's hits by the share of it still in the
    window, so just after the edge five earlier hits count as a little under five."""
    verdicts = await burst_across_a_minute(RateLimiter({"login": "10/minute"}), monkeypatch, [0.0])
    assert verdicts[:10] == [True] * 10 and verdicts[10] is True


def test_the_admins_sign_in_limit_counts_exactly():
    from limits.aio.strategies import MovingWindowRateLimiter
    from sqlalchemy.orm import sessionmaker

    from bot.web.admin.security import StaffAuth

    assert isinstance(StaffAuth(sessionmaker()).login_limiter.strategy, MovingWindowRateLimiter)
