"""Engines and session factories, made on demand (never at import)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from bot import settings
from kb.models import Base


def get_engine(url: str | None = None) -> Engine:
    """The engine for a database URL (the configured KB database by default)."""
    return _engine(url or settings.KB_DATABASE_URL)  # cached by the URL it resolves to, not by None


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass  # connecting then fails with sqlalchemy's OperationalError, which callers handle
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL lets the bot read while staff write
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """A session factory bound to the KB database; callers own `with Session() as s:`."""
    return sessionmaker(get_engine(url), expire_on_commit=False)


def create_schema(url: str | None = None) -> None:
    """Create any missing table."""
    Base.metadata.create_all(get_engine(url))
