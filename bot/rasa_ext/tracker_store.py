"""Rasa's SQL tracker store for local mode (SQLite), made fast (runs in the Rasa environment).

Rasa 3.6 opens SQLite with SQLAlchemy's default NullPool (a new connection for every load and save) and,
for every message, queries the conversation's events twice: once to load the tracker, once to count what
is already stored. Profiling `rasa run` under load showed the tracker store taking about 40% of Rasa's time.

In local mode one Rasa process is the only writer (the lock store is in memory), so this store keeps a
write-through copy of each recent conversation's stored rows: loads and counts come from memory, and every
event is still written to SQLite before the reply goes out. The copy follows exactly the SQL of Rasa's own
query (rows of the latest session, by timestamp of the last SessionStarted, in insertion order). With any
other database (PostgreSQL in scale-out mode, several writers) it is Rasa's SQLTrackerStore unchanged.

Rebuilding the tracker from its rows (`DialogueStateTracker.from_dict`: JSON, then one event class looked up
among all of Rasa's per event) made every message cost more the longer the conversation: half of Rasa's time
at turn 100. So the store also keeps the tracker it last saved for the most recent conversations and hands
that same object back at the next message, but only while it holds exactly the stored rows (as many events as
rows of the latest session): a message that failed after adding events, or a new session, rebuilds it from the
rows as Rasa does. Handing out one object is safe because Rasa processes one message per conversation at a
time (`Agent.handle_message` holds the lock store's lock for the conversation; the in-memory lock store of
local mode, where this copy is used) and a tracker is not used after its message's last save.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.pool import QueuePool

Row = tuple[str, float, str]  # type_name, timestamp, data (JSON)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers don't wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL keeps the file consistent; fsync at checkpoints
    cursor.close()


def latest_session(rows: list[Row]) -> list[Row]:
    """The rows Rasa's query returns: those at or after the last SessionStarted's timestamp (or all)."""
    starts = [ts for kind, ts, _ in rows if kind == SessionStarted.type_name]
    if not starts:
        return rows
    start = max(starts)
    return [row for row in rows if row[1] >= start]


class PooledSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with pooled SQLite connections and a write-through copy of recent conversations."""

    CACHE_SIZE = 1_000  # conversations whose stored rows are kept (about 50 KB each at 6 messages)
    TRACKERS_SIZE = 1_000  # conversations whose last saved tracker is kept

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rows: OrderedDict[str, list[Row]] | None = None
        self._trackers: OrderedDict[str, DialogueStateTracker] = OrderedDict()
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(
                url, poolclass=QueuePool, pool_size=4, max_overflow=4, connect_args={"check_same_thread": False}
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
            self._rows = OrderedDict()

    def _stored_rows(self, sender_id: str) -> list[Row]:
        """The stored rows of a conversation's latest session (from memory when known)."""
        if self._rows is not None and sender_id in self._rows:
            self._rows.move_to_end(sender_id)
            return self._rows[sender_id]
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            rows = [(e.type_name, e.timestamp, e.data) for e in query.all()]
        self._remember(sender_id, rows)
        return rows

    def _remember(self, sender_id: str, rows: list[Row]) -> None:
        if self._rows is None:
            return
        self._rows[sender_id] = rows
        self._rows.move_to_end(sender_id)
        if len(self._rows) > self.CACHE_SIZE:
            self._rows.popitem(last=False)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of the conversation's latest session (Rasa's SQL semantics)."""
        if self._rows is None:
            return await super().retrieve(sender_id)
        rows = self._stored_rows(sender_id)
        if not (self.domain and rows):
            self._trackers.pop(sender_id, None)
            return None
        tracker = self._trackers.get(sender_id)
        if tracker is not None and len(tracker.events) == len(rows):
            self._trackers.move_to_end(sender_id)
            return tracker
        self._trackers.pop(sender_id, None)
        return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for _, _, data in rows], self.domain.slots)

    def _keep(self, tracker: DialogueStateTracker) -> None:
        self._trackers[tracker.sender_id] = tracker
        self._trackers.move_to_end(tracker.sender_id)
        if len(self._trackers) > self.TRACKERS_SIZE:
            self._trackers.popitem(last=False)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the new events to SQLite (as Rasa does), then update the copy."""
        if self._rows is None:
            return await super().save(tracker)
        await self.stream_events(tracker)
        stored = self._stored_rows(tracker.sender_id)
        new_rows: list[Row] = []
        values: list[dict[str, Any]] = []
        events = tracker.events
        for event in [events[i] for i in range(len(stored), len(events))]:
            data = event.as_dict()
            row = (event.type_name, data.get("timestamp"), json.dumps(data))
            values.append(
                {
                    "sender_id": tracker.sender_id,
                    "type_name": row[0],
                    "timestamp": row[1],
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                    "action_name": data.get("name"),
                    "data": row[2],
                }
            )
            new_rows.append(row)
        if values:  # the same rows Rasa's ORM adds one by one, in one executemany (a third of the save's CPU)
            with self.engine.begin() as connection:
                connection.execute(self.SQLEvent.__table__.insert(), values)
        rows = latest_session(stored + new_rows)
        self._remember(tracker.sender_id, rows)
        if len(rows) == len(events) and type(tracker) is DialogueStateTracker:
            self._keep(tracker)
        else:  # a new session: the next load rebuilds it from the rows
            self._trackers.pop(tracker.sender_id, None)
