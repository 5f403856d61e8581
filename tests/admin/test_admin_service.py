"""kb.edits: every save writes a revision and reaches the bot at once; conflicts, restore, retire, staff facts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from actions.answering import answer_entry, answer_question, source_of
from kb.db import session_factory
from kb.edits import (
    Conflict,
    StaffError,
    add_staff_fact,
    attach_question,
    create_entry,
    restore_revision,
    retire_entry,
    update_entry,
    update_fact,
)
from kb.index_cache import current_index
from kb.models import Entry, Fact, Revision, UnansweredQuestion
from kb.queries import kb_version

HOURS = {"zh": "周一至周五 上午8:30-11:30,下午13:30-17:00", "en": "Mon-Fri 8:30-11:30 and 13:30-17:00"}


def _revisions(session, eid):
    return list(session.scalars(select(Revision).where(Revision.entry_id == eid).order_by(Revision.id)))


def _entries(index):
    return {e["id"]: e for e in index.entries}


def test_update_writes_revision_and_the_bot_answers_with_it_without_restart(kb_url):
    before_index = current_index(kb_url)
    assert _entries(before_index)["elder_allowance"]["staff"] == {}
    with session_factory(kb_url)() as session, session.begin():
        version = kb_version(session)
        entry = update_entry(session, "elder_allowance", {"staff": {"hours": HOURS}}, 1, "wang")
        assert entry.revision == 2
    with session_factory(kb_url)() as session:
        entry = session.get(Entry, "elder_allowance")
        assert entry.hours_zh == HOURS["zh"] and entry.hours_en == HOURS["en"]
        assert entry.staff_edited and entry.updated_by == "wang"
        assert kb_version(session) == version + 1
        last = _revisions(session, "elder_allowance")[-1]
        assert (last.revision, last.action, last.changed_by) == (2, "update", "wang")
        assert "hours" not in last.before["staff"]
        assert last.after["staff"]["hours"] == HOURS
        assert last.changed_at is not None

    index = current_index(kb_url)
    assert index is not before_index  # reloaded because the KB version moved
    elder = _entries(index)["elder_allowance"]
    assert elder["staff"]["hours"] == HOURS
    reply = answer_entry(elder, "尊老金几点上班", "zh", index)
    assert reply.kind == "field"
    assert HOURS["zh"] in reply.text
    reply = answer_entry(elder, "What are the opening hours for the elder allowance?", "en", index)
    assert HOURS["en"] in reply.text


def test_a_stale_revision_is_a_conflict_and_nothing_is_lost(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        update_entry(session, "elder_allowance", {"staff": {"phone": {"zh": "0512-52511234", "en": None}}}, 1, "wang")
    with pytest.raises(Conflict) as caught:
        with session_factory(kb_url)() as session, session.begin():
            update_entry(session, "elder_allowance", {"staff": {"phone": {"zh": "0512-00000000"}}}, 1, "zhao")
    conflict = caught.value
    assert (conflict.expected, conflict.current, conflict.by) == (1, 2, "wang")
    assert [c.path for c in conflict.changes] == ["staff.phone.zh"]
    assert "wang" in str(conflict) and "revision 2" in str(conflict)
    with session_factory(kb_url)() as session:
        entry = session.get(Entry, "elder_allowance")
        assert entry.phone_zh == "0512-52511234" and entry.revision == 2
        assert len(_revisions(session, "elder_allowance")) == 2


def test_restore_an_earlier_revision(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        update_entry(session, "elder_allowance", {"staff": {"hours": HOURS}}, 1, "wang")
        update_entry(
            session, "elder_allowance", {"title": {"zh": "尊老金(高龄津贴)", "en": "Elder allowance"}}, 2, "zhao"
        )
    with session_factory(kb_url)() as session:
        first, second, third = _revisions(session, "elder_allowance")
    with session_factory(kb_url)() as session, session.begin():
        restore_revision(session, first.id, 3, "boss")
    with session_factory(kb_url)() as session:
        entry = session.get(Entry, "elder_allowance")
        assert entry.title_zh == "尊老金" and entry.hours_zh is None
        assert entry.revision == 4
        assert [f.key for f in entry.facts if not f.retired] == ["amount", "beneficiaries"]
        assert all(f.source == "report" and f.quote for f in entry.facts)
        last = _revisions(session, "elder_allowance")[-1]
        assert (last.action, last.changed_by, last.before, last.after) == ("restore", "boss", third.after, first.after)
    with session_factory(kb_url)() as session, session.begin():
        restore_revision(session, second.id, 4, "boss")  # and forward again
    assert _entries(current_index(kb_url))["elder_allowance"]["staff"]["hours"] == HOURS


def test_restore_with_a_stale_revision_is_a_conflict(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        update_entry(session, "elder_allowance", {"staff": {"hours": HOURS}}, 1, "wang")
        first = _revisions(session, "elder_allowance")[0]
    with pytest.raises(Conflict):
        with session_factory(kb_url)() as session, session.begin():
            restore_revision(session, first.id, 1, "boss")


def test_retire_keeps_the_entry_and_its_history_and_the_bot_stops_using_it(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        retire_entry(session, "sports_park", 1, "wang")
    with session_factory(kb_url)() as session:
        entry = session.get(Entry, "sports_park")
        assert entry is not None and entry.retired and entry.facts
        assert _revisions(session, "sports_park")[-1].action == "retire"
    assert "sports_park" not in _entries(current_index(kb_url))
    with session_factory(kb_url)() as session, session.begin():
        retire_entry(session, "sports_park", 2, "wang", retired=False)
    assert "sports_park" in _entries(current_index(kb_url))


def test_correcting_a_report_fact_keeps_its_quote_while_the_figure_matches(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        fact = session.scalar(select(Fact).where(Fact.entry_id == "elder_allowance", Fact.key == "amount"))
        update_fact(
            session, fact.id, {"en": "In 2022 Zhitang paid out RMB 14.2835 million in elder allowance."}, 1, "wang"
        )
    with session_factory(kb_url)() as session:
        fact = session.scalar(select(Fact).where(Fact.entry_id == "elder_allowance", Fact.key == "amount"))
        assert fact.source == "report" and fact.quote == "发放尊老金1428.35万元"
        assert fact.text_en.startswith("In 2022 Zhitang paid out")
        assert session.get(Entry, "elder_allowance").staff_edited


def test_a_figure_the_quote_does_not_hold_becomes_a_staff_fact_cited_as_such(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        fact = session.scalar(select(Fact).where(Fact.entry_id == "elder_allowance", Fact.key == "amount"))
        update_fact(
            session,
            fact.id,
            {
                "figure": "1500万元",
                "zh": "2023年,支塘镇发放尊老金1500万元。",
                "figure_en": "15 million",
                "en": "In 2023 Zhitang paid RMB 15 million in elder allowance.",
            },
            1,
            "wang",
        )
    with session_factory(kb_url)() as session:
        fact = session.scalar(select(Fact).where(Fact.entry_id == "elder_allowance", Fact.key == "amount"))
        assert (fact.source, fact.quote, fact.sentence, fact.created_by) == ("staff", None, None, "wang")
        history = _revisions(session, "elder_allowance")[-1]
        assert history.before["facts"][0]["quote"] == "发放尊老金1428.35万元"  # the report's version is kept
    index = current_index(kb_url)
    elder = _entries(index)["elder_allowance"]
    reply = answer_entry(elder, "尊老金发了多少钱", "zh", index)
    assert "1500万元" in reply.text and "由镇工作人员提供" in reply.text
    assert reply.source == {"type": "staff", "entry": "elder_allowance", "fact": "amount"}  # no staff name


def test_a_changed_figure_needs_its_english_figure_changed_too(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        fact = session.scalar(select(Fact).where(Fact.entry_id == "elder_allowance", Fact.key == "amount"))
        with pytest.raises(StaffError, match="English figure"):
            update_fact(session, fact.id, {"figure": "1500万元", "zh": "2023年,支塘镇发放尊老金1500万元。"}, 1, "wang")


def test_report_quotes_cannot_be_edited(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        fact = session.scalar(select(Fact).where(Fact.entry_id == "elder_allowance", Fact.key == "amount"))
        with pytest.raises(StaffError, match="quote"):
            update_fact(session, fact.id, {"quote": "发放尊老金"}, 1, "wang")


def test_a_staff_fact_says_who_added_it_and_when(kb_url, staff_fact):
    with session_factory(kb_url)() as session, session.begin():
        fact = add_staff_fact(session, "elder_allowance", staff_fact, "wang")
        assert fact.key == "staff_1"
    with session_factory(kb_url)() as session:
        fact = session.scalar(select(Fact).where(Fact.entry_id == "elder_allowance", Fact.key == "staff_1"))
        assert (fact.source, fact.created_by, fact.quote) == ("staff", "wang", None)
        assert fact.created_at is not None
    index = current_index(kb_url)
    elder = _entries(index)["elder_allowance"]
    reply = answer_entry(elder, "尊老金每个月几号发", "zh", index)
    assert reply.fact_key == "staff_1"
    assert "由镇工作人员提供" in reply.text
    assert "wang" not in repr(source_of(elder, elder["facts"][-1]))  # residents see "town staff", no name


def test_a_new_entry_is_found_by_the_search_at_once(kb_url):
    data = {
        "id": "flu_vaccine",
        "topic": "health",
        "title": {"zh": "流感疫苗接种", "en": "Flu vaccination"},
        "summary": {"zh": "镇卫生院为居民接种流感疫苗。", "en": "The town health centre gives residents flu shots."},
        "aliases": {"zh": ["流感疫苗", "打流感针"], "en": ["flu shot", "flu vaccine"]},
        "staff": {"phone": {"zh": "0512-52519999"}},
    }
    with session_factory(kb_url)() as session, session.begin():
        entry = create_entry(session, data, "wang")
        assert (entry.revision, entry.source, entry.staff_edited) == (1, "staff", True)
        assert _revisions(session, "flu_vaccine")[0].action == "create"
    index = current_index(kb_url)
    assert [hit.key for hit in index.search_entries("流感疫苗", k=1)] == ["flu_vaccine"]
    reply = answer_question("打流感针的电话是多少", "zh", index, None, 0.0, [], None)
    assert reply.entry_id == "flu_vaccine" and "0512-52519999" in reply.text
    reply = answer_question("phone number for the flu shot", "en", index, None, 0.0, [], None)
    assert reply.entry_id == "flu_vaccine" and "0512-52519999" in reply.text


def test_attaching_a_question_makes_it_an_alias_and_the_bot_answers_it(kb_url):
    question = "老人每个月那笔钱叫啥?"
    with session_factory(kb_url)() as session, session.begin():
        session.add(UnansweredQuestion(text=question, lang="zh", count=3))
    assert answer_question(question, "zh", current_index(kb_url), None, 0.0, [], None).entry_id != "elder_allowance"
    with session_factory(kb_url)() as session, session.begin():
        qid = session.scalar(select(UnansweredQuestion.id))
        attach_question(session, qid, "elder_allowance", "wang")
    with session_factory(kb_url)() as session:
        entry = session.get(Entry, "elder_allowance")
        assert entry.aliases_zh[-1] == "老人每个月那笔钱叫啥"
        assert session.get(UnansweredQuestion, qid).entry_id == "elder_allowance"
        assert _revisions(session, "elder_allowance")[-1].action == "attach"
    reply = answer_question(question, "zh", current_index(kb_url), None, 0.0, [], None)
    assert reply.entry_id == "elder_allowance"


def test_attaching_an_english_question_adds_an_english_alias(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        session.add(UnansweredQuestion(text="money for grandma each month", lang="en"))
    with session_factory(kb_url)() as session, session.begin():
        attach_question(session, session.scalar(select(UnansweredQuestion.id)), "elder_allowance", "wang")
        assert session.get(Entry, "elder_allowance").aliases_en[-1] == "money for grandma each month"


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"title": {"zh": "", "en": "Elder allowance"}}, "title"),
        ({"title": {"zh": "尊老金", "en": "尊老金 allowance"}}, "Chinese characters"),
        ({"related": ["no_such_entry"]}, "no_such_entry"),
        (
            {"facts": [{"key": "amount", "kind": "amount", "figure": "99万元", "zh": "发了很多。", "en": "A lot."}]},
            "figure",
        ),
        ({"facts": [{"key": "x", "zh": "新事实。", "en": "New.", "quote": "这句话不在报告里"}]}, "verbatim"),
    ],
)
def test_checks_refuse_bad_changes_and_save_nothing(kb_url, change, problem):
    with session_factory(kb_url)() as session, session.begin():
        with pytest.raises(StaffError) as caught:
            update_entry(session, "elder_allowance", change, 1, "wang")
    assert any(problem in p for p in caught.value.problems), caught.value.problems
    with session_factory(kb_url)() as session:
        assert session.get(Entry, "elder_allowance").revision == 1
        assert session.scalar(select(func.count(Revision.id)).where(Revision.entry_id == "elder_allowance")) == 1


def test_saving_without_a_change_writes_no_revision(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        entry = update_entry(
            session, "elder_allowance", {"title": {"zh": "尊老金", "en": "Elder allowance"}}, 1, "wang"
        )
        assert entry.revision == 1
    with session_factory(kb_url)() as session:
        assert len(_revisions(session, "elder_allowance")) == 1
        assert not session.get(Entry, "elder_allowance").staff_edited
