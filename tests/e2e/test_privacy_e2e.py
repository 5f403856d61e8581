"""Finding 1 over the running stack: a personal number sent straight to Rasa's REST webhook (no gateway in
front) is masked by the channel, so neither the tracker store nor the staff's unanswered queue holds it raw."""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
import uuid

import pytest
from sqlalchemy import select

from kb.db import session_factory
from kb.models import UnansweredQuestion

NUMBERS = ["13800138000", "320581800101123"]


def raw_digits(text: str) -> list[str]:
    """Runs of 7 digits of the numbers above still readable in a text (full width and separators read away)."""
    plain = re.sub(r"[\s\-.\u00ad\u180e\u200b]", "", unicodedata.normalize("NFKC", text))
    return [n[i : i + 7] for n in NUMBERS for i in range(len(n) - 6) if n[i : i + 7] in plain]


@pytest.mark.parametrize(
    "typed, masked",
    [
        ("我的手机１３８００１３８０００收不到验证码怎么办", "138****8000"),
        ("my phone 0086 138.0013.8000 gets no text messages", "138****8000"),
        ("我奶奶旧身份证320581\u00ad800101123还能用吗", "320********1123"),
    ],
)
def test_a_number_sent_straight_to_rasa_is_stored_only_masked(stack, typed, masked):
    sender = uuid.uuid4().hex
    stack.ask(typed, sender)
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute("select data from events where sender_id = ?", (sender,)).fetchall()
    events = [json.loads(data) for (data,) in rows]
    said = [event.get("text") or "" for event in events if event.get("event") == "user"]
    assert said, "the message did not reach the tracker store"
    stored = [json.dumps(event, ensure_ascii=False) for event in events]
    assert [leak for event in stored for leak in raw_digits(event)] == []
    assert masked in said[-1]
    with session_factory(stack.kb_url)() as session:
        queued = list(session.scalars(select(UnansweredQuestion.text)))
    assert [leak for text in queued for leak in raw_digits(text)] == []
