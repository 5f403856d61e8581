"""Per-session and per-address rate limits (the `limits` library; storage URI from settings).

One gateway counts in its own memory ("memory://", the default). Several gateways behind one address (scale-out,
Kubernetes) count in one Redis (ZHITANG_RATE_LIMIT_STORAGE=redis://…): otherwise a resident whose requests are
spread over two gateways would get twice the allowance. Redis is reached with redis-py (the client the project
locks; `limits` would pick coredis, which it does not install), with short timeouts.

If that Redis cannot be reached, each gateway counts in its own memory until Redis answers again (retried every
SHARED_RETRY_SECONDS), and logs it: residents still get answers and every gateway still enforces the limit, rather
than every message failing because of the rate limiter.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.aio.strategies import RateLimiter as Strategy
from limits.errors import StorageError
from limits.storage import storage_from_string

from bot import settings

logger = logging.getLogger(__name__)

SHARED_RETRY_SECONDS = 5.0  # after a failure, how long the gateway counts alone before trying Redis again
REDIS_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}  # a stuck Redis delays a message 0.5 s


def _async_uri(uri: str) -> str:
    """The asyncio flavour of a storage URI ("memory://" -> "async+memory://")."""
    return uri if uri.startswith("async+") else f"async+{uri}"


def open_storage(uri: str, **options: object) -> Storage:
    """The asyncio `limits` storage at `uri`; Redis through redis-py, its errors raised as StorageError."""
    uri = _async_uri(uri)
    if uri.split("://", 1)[0] in ("async+redis", "async+rediss", "async+redis+unix"):
        options = {"implementation": "redispy", **REDIS_OPTIONS, **options}
    storage = storage_from_string(uri, wrap_exceptions=True, **options)  # type: ignore[arg-type]
    assert isinstance(storage, Storage), "an async+ URI gives an asyncio storage"
    return storage


@dataclass
class Verdict:
    """Whether a request may pass, and if not, how many seconds until it may."""

    allowed: bool
    retry_after: int = 0


class RateLimiter:
    """Named limits ("session", "address", …) checked against one storage, shared by every gateway using it.

    `storage_options` go to the storage (tests hand a fake Redis's `connection_pool`). `exact`: count every hit
    in a moving window (staff sign-ins: few requests, and the tenth wrong password must be the last one), rather
    than the two-counter approximation, which near a window's edge lets one more through.
    """

    def __init__(
        self,
        limits: dict[str, str] | None = None,
        storage_uri: str | None = None,
        exact: bool = False,
        **storage_options: object,
    ):
        self.limits: dict[str, RateLimitItem] = {
            name: parse(value)
            for name, value in (
                limits or {"session": settings.RATE_LIMIT_SESSION, "address": settings.RATE_LIMIT_ADDRESS}
            ).items()
        }
        self.storage = open_storage(storage_uri or settings.RATE_LIMIT_STORAGE, **storage_options)
        # Two counters per key (not a list of every hit): cheap in memory and in Redis. With a moving window,
        # limits' in-memory storage expires old hits one thread hand-off per key, which profiling showed
        # taking a third of the gateway's CPU under load.
        kind: type[Strategy] = MovingWindowRateLimiter if exact else SlidingWindowCounterRateLimiter
        self.strategy: Strategy = kind(self.storage)
        self.shared = not isinstance(self.storage, MemoryStorage)
        # This gateway's own counts, used while the shared storage is unreachable.
        self.local: Strategy = kind(MemoryStorage()) if self.shared else self.strategy
        self.shared_down_until = 0.0  # time.monotonic() before which the shared storage is not tried again

    async def hit(self, name: str, key: str, scope: str = "chat") -> Verdict:
        """Count one request of `key` against the limit `name`; refused once the limit is spent."""
        item = self.limits[name]
        if self.shared and time.monotonic() >= self.shared_down_until:
            try:
                return await self._hit(self.strategy, item, scope, name, key)
            except StorageError as err:
                logger.warning(
                    "rate-limit storage unreachable (%s): counting in this gateway alone for %.0f s",
                    err.storage_error,
                    SHARED_RETRY_SECONDS,
                )
                self.shared_down_until = time.monotonic() + SHARED_RETRY_SECONDS
        return await self._hit(self.local, item, scope, name, key)

    @staticmethod
    async def _hit(strategy: Strategy, item: RateLimitItem, scope: str, name: str, key: str) -> Verdict:
        if await strategy.hit(item, scope, name, key):
            return Verdict(True)
        stats = await strategy.get_window_stats(item, scope, name, key)
        return Verdict(False, max(1, math.ceil(stats.reset_time - time.time())))

    async def reset(self) -> None:
        """Forget every count (tests, or an operator after an incident)."""
        await self.local.storage.reset()
        if self.shared:
            await self.storage.reset()
