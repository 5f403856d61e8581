"""Conversations written into Rasa's `events` table as Rasa 3.6 writes them (type, intent, action name, JSON data),
for the tests of the admin's numbers (kb.stats): one message is eight events, as in a real tracker store.

The JSON follows what `rasa run` stored for a real conversation (tests/e2e): the user event with its parse data
(intent, ranking, the `language` entity), the language slot, the action, the bot's message with the actions'
custom payload (`kind`, `entry`, `source`), the topic and fact slots, action_listen.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from tests.trackers import EVENTS, EVENTS_METADATA

META = {"model_id": "fb0b8e25e1c34a13854b035d117338c8", "assistant_id": "zhitang-assistant"}
INTENTS = ["ask_elder_allowance", "ask_medical_reimbursement", "ask_legal_advisers", "ask_followup", "out_of_scope"]


@dataclass
class Message:
    """One resident message and the bot's reply."""

    sender: str
    at: float  # UTC timestamp
    text: str
    lang: str | None = "zh"  # the language entity; None: the message has none (emoji, digits)
    intent: str = "ask_elder_allowance"
    kind: str | None = "answer"  # the reply's kind; None: a fixed reply of domain.yml (greetings)
    entry: str | None = "elder_allowance"


def rows(message: Message) -> list[dict]:
    """The eight rows Rasa stores for one message."""
    t = message.at
    ranking = [{"name": name, "confidence": round(0.9 / (i + 1), 4)} for i, name in enumerate(INTENTS * 2)]
    entities = (
        [{"entity": "language", "value": message.lang, "start": 0, "end": 0, "extractor": "LanguageDetector"}]
        if message.lang
        else []
    )
    user = {
        "event": "user",
        "timestamp": t,
        "metadata": META,
        "text": message.text,
        "parse_data": {
            "intent": {"name": message.intent, "confidence": 0.93},
            "entities": entities,
            "text": message.text,
            "message_id": f"{int(t * 1000):x}",
            "metadata": {},
            "text_tokens": [[0, 2], [2, 4], [4, 6]],
            "intent_ranking": ranking,
        },
        "input_channel": "rest",
        "message_id": f"{int(t * 1000):x}",
    }
    custom = {"kind": message.kind, "entry": message.entry, "source": None} if message.kind else None
    bot = {
        "event": "bot",
        "timestamp": t + 0.2,
        "metadata": META,
        "text": "2022年，支塘镇发放尊老金1428.35万元。来源：2022年支塘镇政府工作报告" * 2,
        "data": {
            "elements": None,
            "quick_replies": None,
            "buttons": [
                {"title": "查看原文出处", "payload": "/show_source"},
                {"title": "转人工", "payload": "/request_human"},
            ],
            "attachment": None,
            "image": None,
            "custom": custom,
        },
    }

    def event(kind: str, at: float, data: dict, intent: str | None = None, action: str | None = None) -> dict:
        return {
            "sender_id": message.sender,
            "type_name": kind,
            "timestamp": at,
            "intent_name": intent,
            "action_name": action,
            "data": json.dumps({"event": kind, "timestamp": at, "metadata": META, **data}),
        }

    return [
        event(
            "user", t, {k: v for k, v in user.items() if k not in ("event", "timestamp", "metadata")}, message.intent
        ),
        event("slot", t + 0.01, {"name": "language", "value": message.lang or "zh"}, action="language"),
        event("user_featurization", t + 0.1, {"use_text_for_featurization": False}),
        event(
            "action", t + 0.1, {"name": "action_answer_service", "policy": "RulePolicy"}, action="action_answer_service"
        ),
        event("bot", t + 0.2, {k: v for k, v in bot.items() if k not in ("event", "timestamp", "metadata")}),
        event("slot", t + 0.2, {"name": "topic", "value": message.entry}, action="topic"),
        event("slot", t + 0.2, {"name": "fact", "value": "amount"}, action="fact"),
        event("action", t + 0.3, {"name": "action_listen", "policy": "RulePolicy"}, action="action_listen"),
    ]


def insert(engine: sa.Engine, messages: list[Message] | Iterator[Message], batch: int = 20_000) -> int:
    """Write the messages' events (the table is made if missing); how many events."""
    EVENTS_METADATA.create_all(engine)
    total, pending = 0, []
    with engine.begin() as connection:
        for message in messages:
            pending.extend(rows(message))
            if len(pending) >= batch:
                connection.execute(sa.insert(EVENTS), pending)
                total, pending = total + len(pending), []
        if pending:
            connection.execute(sa.insert(EVENTS), pending)
            total += len(pending)
    return total


def random_messages(count: int, start: float, end: float, seed: int = 12, prefix: str = "s") -> Iterator[Message]:
    """`count` messages spread over [start, end): mostly Chinese, some English, every kind of reply; six messages a
    conversation, named `prefix` and a number."""
    rng = random.Random(seed)
    kinds = ["answer"] * 6 + ["field", "did_you_mean", "dont_know", "field_unknown", "sentence", "handoff", None]
    for n in range(count):
        yield Message(
            sender=f"{prefix}{n // 6:08d}",
            at=rng.uniform(start, end),
            text="尊老金发了多少?",
            lang=rng.choice(["zh", "zh", "zh", "en", None]),
            intent=rng.choice(INTENTS + ["greet"]),
            kind=rng.choice(kinds),
        )
