"""POST /api/feedback: 👍/👎 stored in the KB database's feedback table, with bad input refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import settings
from kb.db import session_factory
from kb.models import Feedback

SESSION = "a1b2c3d4e5f6a7b8"


def rows(url: str) -> list[Feedback]:
    """Every feedback row in the KB."""
    with session_factory(url)() as session:
        return list(session.scalars(select(Feedback).order_by(Feedback.id)))


def feedback(**changes: object) -> dict:
    """A valid 👎 on the elder-allowance answer, with changes."""
    return {
        "session": SESSION,
        "rating": "down",
        "question": "尊老金发了多少?",
        "answer": "2022年,支塘镇发放尊老金1428.35万元。",
        "entry": "elder_allowance",
        "lang": "zh",
        **changes,
    }


async def test_thumbs_down_is_stored(client, kb_url):
    """A 👎 becomes a feedback row staff can read: rating, question, answer, entry, language, time."""
    response = await client.post("/api/feedback", json=feedback())
    assert response.status_code == 201
    assert response.json()["message"].startswith("谢谢")
    [row] = rows(kb_url)
    assert (row.id, row.session, row.rating, row.entry_id, row.lang) == (
        response.json()["id"],
        SESSION,
        "down",
        "elder_allowance",
        "zh",
    )
    assert row.question == "尊老金发了多少?" and "1428.35万元" in row.answer
    assert row.created_at is not None


async def test_thumbs_up_with_only_the_required_fields(client, kb_url):
    """Question, answer, entry and lang are optional (a greeting has no entry)."""
    response = await client.post("/api/feedback", json={"session": SESSION, "rating": "up"})
    assert response.status_code == 201
    [row] = rows(kb_url)
    assert (row.rating, row.question, row.answer, row.entry_id) == ("up", None, None, None)


async def test_personal_numbers_are_masked_before_storing(client, kb_url):
    """A phone number in the question or answer is masked in the table."""
    await client.post("/api/feedback", json=feedback(question="我的手机13812345678", answer="身份证32058119800101123X"))
    [row] = rows(kb_url)
    assert row.question == "我的手机138****5678"
    assert row.answer == "身份证320***********123X"


@pytest.mark.parametrize(
    "changes",
    [
        {"rating": "meh"},
        {"rating": None},
        {"rating": 1},
        {"session": "bad"},
        {"session": None},
        {"entry": "../etc"},
        {"entry": 5},
        {"lang": "fr"},
        {"question": "尊" * 501},
        {"question": ["list"]},
        {"question": "尊老金\x00"},
        {"answer": "a" * 4001},
    ],
    ids=lambda c: "-".join(f"{k}={str(v)[:10]}" for k, v in c.items()),
)
async def test_bad_feedback_is_refused_and_not_stored(client, kb_url, changes):
    """Invalid fields: 400 with a message; nothing is written."""
    response = await client.post("/api/feedback", json=feedback(**changes), headers={"accept-language": "en"})
    assert response.status_code == 400
    assert response.json()["error"] in {"bad_feedback", "bad_session"}
    assert response.json()["message"]
    assert rows(kb_url) == []


async def test_broken_feedback_json_is_refused(client, kb_url):
    """Broken JSON: 400, nothing stored."""
    response = await client.post(
        "/api/feedback", content=b'{"rating": "up"', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"] == "bad_json"
    assert rows(kb_url) == []


async def test_database_down_gives_a_polite_503(client, monkeypatch, tmp_path):
    """The KB database cannot be opened: 503 with the polite message, no 500."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(settings, "KB_DATABASE_URL", f"sqlite:///{blocker}/kb.sqlite3")  # a file is no directory
    response = await client.post("/api/feedback", json=feedback(lang="en"))
    assert response.status_code == 503
    assert "temporarily unavailable" in response.json()["message"]


async def test_feedback_is_rate_limited_per_address(make_client, rasa, kb_url):
    """A flood of ratings from one address is refused politely."""
    client = make_client(address_limit="2/minute")
    assert (await client.post("/api/feedback", json=feedback())).status_code == 201
    assert (await client.post("/api/feedback", json=feedback())).status_code == 201
    refused = await client.post("/api/feedback", json=feedback())
    assert refused.status_code == 429
    assert len(rows(kb_url)) == 2
