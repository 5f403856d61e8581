"""What the gateway does with the handover desk on every resident's message: one query when neither the
conversation nor the queue concerns the desk, and otherwise exactly what it did before (expiry of overdue
waiting conversations, diverting to staff, masked messages kept in order)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa

from kb import handover as desk
from kb.db import get_engine, session_factory
from kb.models import Handover, HandoverEvent
from tests.handover.conftest import ASK_FOR_PERSON
from tests.handover.test_handover_api import say

OTHER = "resident-0002-efgh"


@contextmanager
def statements(kb_url: str) -> Iterator[list[str]]:
    """The SQL statements the KB database runs inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    engine = get_engine(kb_url)
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_a_message_no_handover_concerns_costs_the_desk_one_query_and_reaches_the_bot(resident, rasa, kb_url):
    with statements(kb_url) as seen:
        reply = say(resident, "尊老金发了多少")
    assert reply["messages"] and "handover" not in reply
    assert rasa.calls.call_count == 1
    assert len(seen) == 1 and seen[0].lstrip().upper().startswith("SELECT")


def test_an_overdue_waiting_conversation_is_expired_by_another_residents_message(resident, kb_url):
    handover_id = say(resident, ASK_FOR_PERSON, session=OTHER)["handover"]["id"]
    with session_factory(kb_url)() as session, session.begin():
        session.get(Handover, handover_id).created_at -= timedelta(minutes=11)
    assert say(resident, "尊老金发了多少")["messages"]  # someone else's message: the bot answers it
    with session_factory(kb_url)() as session:
        assert session.get(Handover, handover_id).state == "expired"


def test_another_conversations_handover_does_not_divert_this_one(resident, rasa, kb_url):
    handover_id = say(resident, ASK_FOR_PERSON, session=OTHER)["handover"]["id"]
    with session_factory(kb_url)() as session, session.begin():
        desk.take(session, handover_id, "wang")  # active: with a staff member, no longer waiting
    calls = rasa.calls.call_count
    assert say(resident, "尊老金发了多少")["messages"]
    assert rasa.calls.call_count == calls + 1


def test_messages_while_with_staff_are_kept_masked_and_in_order(resident, rasa, kb_url):
    handover_id = say(resident, ASK_FOR_PERSON)["handover"]["id"]
    calls = rasa.calls.call_count
    texts = ["我的电话是13812345678", "身份证320581199001011234", "第三条消息"]
    for text in texts:
        assert say(resident, text)["messages"] == []
    assert rasa.calls.call_count == calls
    with session_factory(kb_url)() as session:
        said = session.scalars(
            sa.select(HandoverEvent.text)
            .where(HandoverEvent.handover_id == handover_id, HandoverEvent.kind == "resident")
            .order_by(HandoverEvent.id)
        ).all()
    assert len(said) == 3 and said[0] == "我的电话是138****5678" and said[2] == "第三条消息"
    assert "13812345678" not in " ".join(said) and "320581199001011234" not in " ".join(said)
