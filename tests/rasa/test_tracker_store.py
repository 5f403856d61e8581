"""The local-mode tracker store stores and loads exactly what Rasa's SQLTrackerStore does."""

from __future__ import annotations

import asyncio
import time

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext.tracker_store import PooledSQLTrackerStore

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet]
slots:
  topic: {type: text, influence_conversation: false, mappings: [{type: custom}]}
""")


def turn(text: str, at: float) -> list:
    """One user turn: the message, a slot, the bot's action, listening again."""
    return [
        UserUttered(text, {"name": "greet", "confidence": 1.0}, timestamp=at),
        SlotSet("topic", text, timestamp=at + 0.01),
        ActionExecuted("utter_greet", timestamp=at + 0.02),
        ActionExecuted("action_listen", timestamp=at + 0.03),
    ]


def conversation(store, now: float) -> list[list[dict]]:
    """Three saves with a new session in between; what the store returns after each save."""
    new_session = [ActionExecuted("action_session_start", timestamp=now + 3), SessionStarted(timestamp=now + 3.01)]
    saves = [turn("one", now + 1), turn("two", now + 2), new_session + turn("three", now + 4)]

    async def run() -> list[list[dict]]:
        seen = []
        tracker = DialogueStateTracker.from_events("s1", [ActionExecuted("action_listen", timestamp=now)], DOMAIN.slots)
        for events in saves:
            for event in events:
                tracker.update(event)
            await store.save(tracker)
            tracker = await store.retrieve("s1")
            seen.append([e.as_dict() for e in tracker.events])
        return seen

    return asyncio.run(run())


def test_same_events_as_rasas_own_store(tmp_path):
    """Saved and loaded events match Rasa's SQLTrackerStore, across a new session, warm or cold."""
    rasa = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    ours = PooledSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "ours.db"))
    now = time.time()
    expected, got = conversation(rasa, now), conversation(ours, now)
    assert got == expected
    assert [e["event"] for e in got[-1]][:2] == ["session_started", "user"]  # only the new session is loaded
    columns = "sender_id, type_name, timestamp, intent_name, action_name, data"
    with rasa.engine.connect() as theirs, ours.engine.connect() as mine:
        rows = [c.exec_driver_sql(f"SELECT {columns} FROM events ORDER BY id").all() for c in (theirs, mine)]
    assert rows[1] == rows[0] and len(rows[0]) == 15  # the same rows in SQLite, in the same order
    cold = PooledSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "ours.db"))
    assert [e.as_dict() for e in asyncio.run(cold.retrieve("s1")).events] == got[-1]
