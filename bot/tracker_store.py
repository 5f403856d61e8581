"""Rasa's SQL tracker store for local mode (SQLite), with a connection pool (runs in the Rasa environment).

Rasa 3.6 opens SQLite with SQLAlchemy's default NullPool: a new connection, and the file and schema read
again, for every load and every save of a conversation. Profiling `rasa run` under load showed the tracker
store taking about 40% of Rasa's time. Here the same tables and queries run over a small pool of
connections in WAL mode. PostgreSQL URLs (scale-out mode) are left exactly as Rasa makes them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.pool import QueuePool


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers don't wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; WAL keeps the file consistent
    cursor.close()


class PooledSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose SQLite engine keeps its connections (same tables, same events)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(
                url, poolclass=QueuePool, pool_size=4, max_overflow=4, connect_args={"check_same_thread": False}
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
