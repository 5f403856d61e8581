"""Short-lived state the WeChat channel shares between gateway replicas: MsgIds being answered, answers in
flight, each conversation's last numbered suggestions, the access_token.

Picked the way the gateway's rate limiter picks its storage (ratelimit.py): ZHITANG_WECHAT_STORAGE when set;
else the rate limits' Redis (ZHITANG_RATE_LIMIT_STORAGE) when they have one; else the KB database when it is a
server (PostgreSQL: shared by every gateway); else a SQLite file of its own under $ZHITANG_VAR_DIR. Keys never
hold an OpenID, only its keyed hash (bot.web.wechat.identity).
"""

from __future__ import annotations

import time
from typing import Protocol

import anyio.to_thread
from sqlalchemy import Column, Float, MetaData, String, Table, Text, create_engine, delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot import settings

PREFIX = "zhitang:wechat:"


class Store(Protocol):
    """Keys with a time to live, shared by every replica."""

    async def claim(self, key: str, value: str, ttl: float) -> bool:
        """Set `key` only if it is not set (or has expired): True for the one caller that set it."""

    async def put(self, key: str, value: str, ttl: float) -> None:
        """Set `key`, whatever it held."""

    async def get(self, key: str) -> str | None:
        """The value of `key`, None when unset or expired."""

    async def delete(self, key: str) -> None:
        """Forget `key`."""

    async def aclose(self) -> None:
        """Release connections."""


def _redis_url(uri: str) -> str | None:
    """The redis:// URL of a storage URI (limits' "async+redis://..." included), None when it is not Redis."""
    uri = uri.removeprefix("async+")
    return uri if uri.startswith(("redis://", "rediss://")) else None


class RedisStore:
    """SET NX EX in Redis."""

    def __init__(self, url: str):
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url, decode_responses=True)

    async def claim(self, key: str, value: str, ttl: float) -> bool:
        return bool(await self.redis.set(PREFIX + key, value, nx=True, px=max(1, int(ttl * 1000))))

    async def put(self, key: str, value: str, ttl: float) -> None:
        await self.redis.set(PREFIX + key, value, px=max(1, int(ttl * 1000)))

    async def get(self, key: str) -> str | None:
        value = await self.redis.get(PREFIX + key)
        return value if isinstance(value, str) else None

    async def delete(self, key: str) -> None:
        await self.redis.delete(PREFIX + key)

    async def aclose(self) -> None:
        await self.redis.aclose()


metadata = MetaData()
# One table of its own (not part of the KB's schema: created here if missing, never migrated).
state = Table(
    "wechat_state",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)


class SqlStore:
    """The same on an SQL database: a primary key makes claims exclusive; expired rows are swept on claims."""

    def __init__(self, url: str):
        options = {"connect_args": {"timeout": 15}} if url.startswith("sqlite") else {"pool_pre_ping": True}
        self.engine: Engine = create_engine(url, **options)
        metadata.create_all(self.engine, tables=[state], checkfirst=True)

    def _claim(self, key: str, value: str, ttl: float) -> bool:
        now = time.time()
        try:
            with self.engine.begin() as db:
                db.execute(delete(state).where(state.c.key == key, state.c.expires_at <= now))
                db.execute(insert(state).values(key=key, value=value, expires_at=now + ttl))
        except IntegrityError:
            return False
        return True

    def _put(self, key: str, value: str, ttl: float) -> None:
        with self.engine.begin() as db:
            db.execute(delete(state).where(state.c.key == key))
            db.execute(insert(state).values(key=key, value=value, expires_at=time.time() + ttl))

    def _get(self, key: str) -> str | None:
        with self.engine.connect() as db:
            row = db.execute(select(state.c.value).where(state.c.key == key, state.c.expires_at > time.time())).first()
        return None if row is None else str(row[0])

    def _delete(self, key: str) -> None:
        with self.engine.begin() as db:
            db.execute(delete(state).where(state.c.key == key))

    def sweep(self) -> int:
        """Delete every expired row; how many."""
        with self.engine.begin() as db:
            return db.execute(delete(state).where(state.c.expires_at <= time.time())).rowcount or 0

    async def claim(self, key: str, value: str, ttl: float) -> bool:
        claimed = await anyio.to_thread.run_sync(self._claim, key, value, ttl)
        if claimed and key.startswith("msg:"):  # now and then, not on every read
            await anyio.to_thread.run_sync(self.sweep)
        return claimed

    async def put(self, key: str, value: str, ttl: float) -> None:
        await anyio.to_thread.run_sync(self._put, key, value, ttl)

    async def get(self, key: str) -> str | None:
        return await anyio.to_thread.run_sync(self._get, key)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._delete, key)

    async def aclose(self) -> None:
        self.engine.dispose()


def storage_url() -> str:
    """Where the channel's state lives (see the module's docstring)."""
    if settings.WECHAT_STORAGE:
        return settings.WECHAT_STORAGE
    redis = _redis_url(settings.RATE_LIMIT_STORAGE)
    if redis:
        return redis
    if not settings.KB_DATABASE_URL.startswith("sqlite"):
        return settings.KB_DATABASE_URL
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.VAR_DIR / 'wechat.sqlite3'}"


def open_store(url: str | None = None) -> Store:
    """The store at `url` (default: storage_url())."""
    url = url or storage_url()
    redis = _redis_url(url)
    return RedisStore(redis) if redis else SqlStore(url)
