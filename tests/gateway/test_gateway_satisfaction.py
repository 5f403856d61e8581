"""POST /api/feedback with a 5-level rating of a whole conversation (非常满意 … 非常不满意): stored for staff,
anything else refused with a 400 and nothing stored; deleted with the conversation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kb.db import session_factory
from kb.models import Satisfaction

SESSION = "a1b2c3d4e5f6a7b8"


def ratings(url: str) -> list[tuple[str, str, str, str | None]]:
    with session_factory(url)() as session:
        return [(r.session, r.level, r.occasion, r.lang) for r in session.scalars(select(Satisfaction))]


def rating(**changes: object) -> dict:
    """A valid rating given when the resident closed the chat, with changes."""
    return {"session": SESSION, "satisfaction": "dissatisfied", "occasion": "end", "lang": "zh", **changes}


@pytest.mark.parametrize("level", ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"])
async def test_each_of_the_five_levels_is_stored(client, kb_url, level):
    response = await client.post("/api/feedback", json=rating(satisfaction=level, occasion="handoff"))
    assert response.status_code == 201
    assert response.json()["message"].startswith("谢谢")
    assert ratings(kb_url) == [(SESSION, level, "handoff", "zh")]


@pytest.mark.parametrize(
    "changes",
    [
        {"satisfaction": "ok"},  # not one of the five levels
        {"satisfaction": 3},
        {"satisfaction": None},
        {"occasion": "whenever"},
        {"occasion": None},
        {"lang": "fr"},
        {"session": "short"},
        {"rating": "down"},  # a 👍/👎 field mixed in
        {"question": "尊老金发了多少?"},  # nothing the resident wrote travels with a rating
        {"comment": "<script>alert(1)</script>"},
    ],
)
async def test_a_malformed_rating_is_refused_and_not_stored(client, kb_url, changes):
    response = await client.post("/api/feedback", json=rating(**changes), headers={"accept-language": "en"})
    assert response.status_code == 400
    assert response.json()["error"] in {"bad_feedback", "bad_session"}
    assert ratings(kb_url) == []


async def test_forgetting_the_conversation_deletes_its_rating(client, kb_url):
    await client.post("/api/feedback", json=rating())
    response = await client.post("/api/forget", json={"session": SESSION})
    assert response.status_code == 200
    assert ratings(kb_url) == []
