"""Per-session and per-address rate limits (the `limits` library; storage URI from settings)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from bot import settings


def _async_uri(uri: str) -> str:
    """The asyncio flavour of a storage URI ("memory://" -> "async+memory://")."""
    return uri if uri.startswith("async+") else f"async+{uri}"


@dataclass
class Verdict:
    """Whether a request may pass, and if not, how many seconds until it may."""

    allowed: bool
    retry_after: int = 0


class RateLimiter:
    """Named limits ("session", "address", …) checked against one storage."""

    def __init__(self, limits: dict[str, str] | None = None, storage_uri: str | None = None):
        self.limits: dict[str, RateLimitItem] = {
            name: parse(value)
            for name, value in (
                limits or {"session": settings.RATE_LIMIT_SESSION, "address": settings.RATE_LIMIT_ADDRESS}
            ).items()
        }
        storage = storage_from_string(_async_uri(storage_uri or settings.RATE_LIMIT_STORAGE))
        assert isinstance(storage, Storage), "an async+ URI gives an asyncio storage"
        self.storage = storage
        # Two counters per key (not a list of every hit): cheap in memory and in Redis. With a moving window,
        # limits' in-memory storage expires old hits one thread hand-off per key, which profiling showed
        # taking a third of the gateway's CPU under load.
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)

    async def hit(self, name: str, key: str, scope: str = "chat") -> Verdict:
        """Count one request of `key` against the limit `name`; refused once the limit is spent."""
        item = self.limits[name]
        if await self.strategy.hit(item, scope, name, key):
            return Verdict(True)
        stats = await self.strategy.get_window_stats(item, scope, name, key)
        return Verdict(False, max(1, math.ceil(stats.reset_time - time.time())))

    async def reset(self) -> None:
        """Forget every count (tests, or an operator after an incident)."""
        await self.storage.reset()
