"""A tracker as Rasa sends it to the action server, for the tests that call actions or forge webhooks."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def tracker_dict(
    text: str,
    intent: str | None,
    confidence: float,
    ranking: list[dict[str, Any]],
    slots: dict[str, Any],
    sender: str = "test-user",
) -> dict[str, Any]:
    """The tracker JSON of a conversation whose latest message is `text` (no earlier events)."""
    return {
        "sender_id": sender,
        "slots": slots,
        "latest_message": {
            "text": text,
            "intent": {"name": intent, "confidence": confidence} if intent else {},
            "intent_ranking": ranking,
            "entities": [],
        },
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }


# Rasa 3.6's SQLTrackerStore table (SQLEvent), column for column: what the tests write conversations into.
EVENTS_METADATA = sa.MetaData()
EVENTS = sa.Table(
    "events",
    EVENTS_METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)
