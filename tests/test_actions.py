"""The custom actions, run as the action server runs them (no Rasa server)."""

from __future__ import annotations

import re

import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

import actions.base
from actions.handoff import ActionHumanHandoff
from actions.i18n import t
from actions.service import (
    ActionAnswerService,
    ActionShowSource,
    ActionTriageLowConfidence,
)
from bot import settings
from kb.build import bump_version
from kb.db import session_factory
from kb.models import Entry, UnansweredQuestion
from kb.source import report_sentences
from kb.text import has_cjk

PHONE_LIKE = re.compile(r"\d{7,}")


def _digits(text: str) -> str:
    """The text with separators between digits removed, so 0512-5200 1234 reads as one number."""
    return re.sub(r"(?<=\d)[\s\-()]+(?=\d)", "", text)


def _slots(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _fact(entries, eid, key):
    entry = next(e for e in entries if e["id"] == eid)
    return next(f for f in entry["facts"] if f["key"] == key)


ANSWERS = [
    # text, intent, slots, expected strings, topic, fact, lang
    ("尊老金发了多少?", "ask_elder_allowance", {}, ["1428.35万元", "2022"], "elder_allowance", "amount", "zh"),
    (
        "How many seniors received the elder allowance?",
        "ask_elder_allowance",
        {},
        ["21389", "2022"],
        "elder_allowance",
        "beneficiaries",
        "en",
    ),
    (
        "How much elder allowance did the town pay?",
        "ask_elder_allowance",
        {},
        ["14.2835 million", "2022"],
        "elder_allowance",
        "amount",
        "en",
    ),
    (
        "实付金额呢?",
        "ask_followup",
        {"topic": "medical_reimbursement"},
        ["409.33万元", "2022"],
        "medical_reimbursement",
        "amount",
        "zh",
    ),
    ("醫保報銷了多少人次?", "ask_medical_reimbursement", {}, ["1293人次"], "medical_reimbursement", "cases", "zh"),
    ("矛盾纠纷调解了多少件", "ask_dispute_mediation", {}, ["1089件"], "dispute_mediation", "cases", "zh"),
]


@pytest.mark.parametrize("text, intent, slots, expected, topic, fact, lang", ANSWERS, ids=[a[0] for a in ANSWERS])
async def test_answer_service(
    kb_url, entries, report_text, dispatcher, make_tracker, domain, text, intent, slots, expected, topic, fact, lang
):
    events = await ActionAnswerService().run(dispatcher, make_tracker(text, intent, slots=slots), domain)
    assert SlotSet("topic", topic) in events
    assert SlotSet("fact", fact) in events
    assert len(dispatcher.messages) == 1
    message = dispatcher.messages[0]
    for needle in expected:
        assert needle in message["text"]
    if lang == "en":
        assert not has_cjk(message["text"]), message["text"]
    else:
        assert "来源：2022年支塘镇政府工作报告" in message["text"]
    source = message["custom"]["source"]
    quote = _fact(entries, topic, fact)["quote"]
    assert source["type"] == "report"
    assert source["quote"] == quote
    assert quote in report_text
    assert source["sentence"] in report_sentences(report_text)
    assert message["custom"]["kind"] == "answer"
    assert {"title": "查看原文出处" if lang == "zh" else "Show the source", "payload": "/show_source"} in message[
        "buttons"
    ]


async def test_answer_uses_slot_language_for_a_button_payload(kb_url, dispatcher, make_tracker, domain):
    tracker = make_tracker("/ask_elder_allowance", "ask_elder_allowance", confidence=1.0, slots={"language": "en"})
    events = await ActionAnswerService().run(dispatcher, tracker, domain)
    text = dispatcher.messages[0]["text"]
    assert "14.2835 million" in text
    assert not has_cjk(text), text
    assert _slots(events)["topic"] == "elder_allowance"
    assert dispatcher.messages[0]["custom"]["source"]["quote"] == "发放尊老金1428.35万元"
    with session_factory(kb_url)() as session:  # a button is not an unanswered question
        assert session.scalars(select(UnansweredQuestion)).all() == []


async def test_missing_staff_field_is_not_invented(kb_url, dispatcher, make_tracker, domain):
    tracker = make_tracker("法律援助电话是多少?", "ask_legal_consultation")
    events = await ActionAnswerService().run(dispatcher, tracker, domain)
    text = dispatcher.messages[0]["text"]
    assert "知识库里还没有法律咨询的联系电话" in text
    assert "便民服务中心" in text
    assert not PHONE_LIKE.search(_digits(text)), text
    assert _slots(events)["topic"] == "legal_consultation"
    custom = dispatcher.messages[0]["custom"]
    assert custom["kind"] == "field_unknown"
    assert custom["source"]["quote"] == "接待来电咨询150余人次"


async def test_staff_filled_field_is_used_once_the_cache_reloads(kb_url, index, make_tracker, domain):
    from rasa_sdk.executor import CollectingDispatcher

    tracker = make_tracker("法律援助电话是多少?", "ask_legal_consultation")
    before = CollectingDispatcher()
    await ActionAnswerService().run(before, tracker, domain)
    assert "0512-52001234" not in before.messages[0]["text"]

    with session_factory(kb_url)() as session, session.begin():
        entry = session.get(Entry, "legal_consultation")
        entry.phone_zh = "0512-52001234"
        entry.staff_edited = True
        entry.updated_by = "alice"
        bump_version(session)

    after = CollectingDispatcher()
    events = await ActionAnswerService().run(after, tracker, domain)
    text = after.messages[0]["text"]
    assert "0512-52001234" in text
    assert "联系电话" in text and "由镇工作人员提供" in text
    assert "知识库里还没有" not in text
    assert after.messages[0]["custom"]["source"] == {"type": "staff", "entry": "legal_consultation", "field": "phone"}
    assert _slots(events)["topic"] == "legal_consultation"

    # The English question falls back to the Chinese staff value rather than saying nothing.
    english = CollectingDispatcher()
    await ActionAnswerService().run(
        english, make_tracker("What is the phone number for legal consultation?", "ask_legal_consultation"), domain
    )
    assert "0512-52001234" in english.messages[0]["text"]


async def test_hours_staff_gave_only_in_chinese_are_said_in_english_from_their_days_and_times(
    kb_url, index, make_tracker, domain
):
    from rasa_sdk.executor import CollectingDispatcher

    with session_factory(kb_url)() as session, session.begin():
        entry = session.get(Entry, "elder_allowance")
        entry.hours_zh, entry.address_zh = "周一至周五 8:30-17:00", "支塘镇便民服务中心"
        entry.staff_edited = True
        bump_version(session)
    asked = "What are the opening hours and the address for the elder allowance?"
    english = CollectingDispatcher()
    await ActionAnswerService().run(english, make_tracker(asked, "ask_elder_allowance"), domain)
    text = english.messages[0]["text"]
    assert "opening hours for Elder allowance: Monday to Friday, 8:30–17:00 (provided by town staff" in text
    assert "周一至周五" not in text
    assert "支塘镇便民服务中心 (town staff gave this only in Chinese; as they wrote it, not translated)" in text


async def test_show_source_after_an_answer_quotes_the_report(kb_url, report_text, make_tracker, domain):
    from rasa_sdk.executor import CollectingDispatcher

    answer = CollectingDispatcher()
    events = await ActionAnswerService().run(answer, make_tracker("尊老金发了多少?", "ask_elder_allowance"), domain)
    slots = _slots(events)

    shown = CollectingDispatcher()
    result = await ActionShowSource().run(shown, make_tracker("出处在哪", "show_source", slots=slots), domain)
    assert result == []
    text = shown.messages[0]["text"]
    sentence = answer.messages[0]["custom"]["source"]["sentence"]
    assert sentence in report_sentences(report_text)
    assert "发放尊老金1428.35万元" in sentence
    assert f"“{sentence}”" in text
    assert text.startswith("出处（2022年支塘镇政府工作报告）")


async def test_show_source_in_english_quotes_the_fact_asked_about(
    kb_url, report_text, dispatcher, make_tracker, domain
):
    slots = {"topic": "medical_reimbursement", "fact": "amount", "language": "en"}
    await ActionShowSource().run(dispatcher, make_tracker("/show_source", "show_source", slots=slots), domain)
    text = dispatcher.messages[0]["text"]
    assert text.startswith("Source (Zhitang Town 2022 Government Work Report, original Chinese text)")
    assert "实付金额409.33万元" in text


async def test_show_source_without_a_topic(kb_url, dispatcher, make_tracker, domain):
    await ActionShowSource().run(dispatcher, make_tracker("出处", "show_source"), domain)
    assert dispatcher.messages[0]["text"] == t("no_topic_yet", "zh")


async def test_handoff_without_contacts_invents_none(kb_url, dispatcher, make_tracker, domain):
    events = await ActionHumanHandoff().run(dispatcher, make_tracker("我要找人工", "request_human"), domain)
    assert events == []
    text = dispatcher.messages[0]["text"]
    assert "便民服务中心" in text
    assert t("handoff_no_contact", "zh") in text
    assert not PHONE_LIKE.search(_digits(text)), text
    assert not re.search(r"\d{1,2}[:：]\d{2}", text), text  # no opening hours


async def test_handoff_gives_staff_contacts_when_filled(kb_url, dispatcher, make_tracker, domain):
    with session_factory(kb_url)() as session, session.begin():
        centre = session.get(Entry, "service_centre")
        centre.phone_zh = "0512-52005678"
        centre.hours_en = "Mon-Fri 8:30-17:00"
        centre.staff_edited = True
        bump_version(session)
    await ActionHumanHandoff().run(dispatcher, make_tracker("talk to a person please", "request_human"), domain)
    text = dispatcher.messages[0]["text"]
    assert "Public Service Centre" in text
    assert "Service centre phone number: 0512-52005678" in text
    assert "Service centre opening hours: Mon-Fri 8:30-17:00" in text
    assert t("handoff_no_contact", "en") not in text


async def test_low_confidence_gibberish_says_dont_know_and_is_recorded(kb_url, make_tracker, domain):
    from rasa_sdk.executor import CollectingDispatcher

    for expected_count in (1, 2):
        dispatcher = CollectingDispatcher()
        tracker = make_tracker("asdkjh qwe", "nlu_fallback", confidence=0.31)
        events = await ActionTriageLowConfidence().run(dispatcher, tracker, domain)
        assert events == []
        assert dispatcher.messages[0]["text"] == t("dont_know", "en", report="Zhitang Town 2022 Government Work Report")
        with session_factory(kb_url)() as session:
            rows = session.scalars(select(UnansweredQuestion)).all()
        assert [(r.text, r.lang, r.count) for r in rows] == [("asdkjh qwe", "en", expected_count)]


async def test_low_confidence_chinese_unrelated_question(kb_url, dispatcher, make_tracker, domain):
    await ActionTriageLowConfidence().run(dispatcher, make_tracker("今天天气怎么样", "out_of_scope", 0.4), domain)
    assert dispatcher.messages[0]["text"] == t("out_of_scope", "zh")
    with session_factory(kb_url)() as session:
        assert [r.text for r in session.scalars(select(UnansweredQuestion))] == ["今天天气怎么样"]


async def test_low_confidence_still_answers_a_clearly_named_service(kb_url, dispatcher, make_tracker, domain):
    tracker = make_tracker("尊老金发了多少", "out_of_scope", confidence=0.3)
    events = await ActionTriageLowConfidence().run(dispatcher, tracker, domain)
    assert "1428.35万元" in dispatcher.messages[0]["text"]
    assert _slots(events)["topic"] == "elder_allowance"
    assert dispatcher.messages[0]["custom"]["source"]["quote"] == "发放尊老金1428.35万元"


@pytest.mark.parametrize(
    "text, slot, lang",
    [
        ("尊老金发了多少", "en", "zh"),
        ("How much is 尊老金 total?", "zh", "en"),
        ("/ask_elder_allowance", "en", "en"),
        ("👍", "en", "en"),
    ],
)
async def test_actions_reply_in_the_language_rasa_set(kb_url, dispatcher, make_tracker, domain, text, slot, lang):
    """The actions read the `language` slot (set inside Rasa by bot/language.py); they detect nothing."""
    tracker = make_tracker(text, "ask_elder_allowance", slots={"language": slot, "topic": "elder_allowance"})
    await ActionAnswerService().run(dispatcher, tracker, domain)
    assert has_cjk(dispatcher.messages[0]["text"]) == (lang == "zh")


def _unavailable_by_path(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database directory should be")
    monkeypatch.setattr(settings, "KB_DATABASE_URL", f"sqlite:///{blocker / 'missing' / 'kb.sqlite3'}")


def _unavailable_by_error(monkeypatch, tmp_path):
    def down(*_args, **_kwargs):
        raise OperationalError("SELECT kb_state.version", {}, Exception("could not connect to server"))

    monkeypatch.setattr(actions.base, "current_index", down)


@pytest.mark.parametrize(
    "make_unavailable", [_unavailable_by_path, _unavailable_by_error], ids=["bad_path", "db_error"]
)
@pytest.mark.parametrize(
    "action, text, lang",
    [
        (ActionAnswerService(), "尊老金发了多少?", "zh"),
        (ActionAnswerService(), "How much elder allowance was paid?", "en"),
        (ActionTriageLowConfidence(), "asdkjh qwe", "en"),
        (ActionShowSource(), "出处", "zh"),
        (ActionHumanHandoff(), "talk to a person", "en"),
    ],
    ids=lambda v: v.name() if hasattr(v, "name") else None,
)
async def test_kb_unavailable_is_said_not_raised(
    monkeypatch, tmp_path, dispatcher, make_tracker, domain, make_unavailable, action, text, lang
):
    make_unavailable(monkeypatch, tmp_path)
    tracker = make_tracker(text, "ask_elder_allowance", slots={"topic": "elder_allowance"})
    events = await action.run(dispatcher, tracker, domain)
    assert events == []
    assert [m["text"] for m in dispatcher.messages] == [t("kb_unavailable", lang)]


def _conversation(texts_and_intents, slots):
    """A tracker whose events hold the resident's earlier messages (as Rasa sends them to the action server)."""
    from rasa_sdk import Tracker

    events = [
        {
            "event": "user",
            "text": text,
            "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "intent_ranking": []},
        }
        for text, intent in texts_and_intents
    ]
    last_text, last_intent = texts_and_intents[-1]
    return Tracker.from_dict(
        {
            "sender_id": "test-user",
            "slots": {"language": "zh", "topic": None, "fact": None, **slots},
            "latest_message": {"text": last_text, "intent": {"name": last_intent, "confidence": 0.9}, "entities": []},
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


@pytest.mark.parametrize(
    "request_text, lang, expected",
    [
        ("in English please", "en", "21389"),
        ("英文说一下", "en", "21389"),
        ("请用中文回答", "zh", "21389"),
        ("说英文,我要转给我在国外的女儿看", "en", "21389"),  # why, not a new question
    ],
)
async def test_a_request_for_a_language_answers_the_previous_question_again_in_it(
    kb_url, dispatcher, domain, request_text, lang, expected
):
    tracker = _conversation(
        [("尊老金有多少老人领了？", "ask_elder_allowance"), (request_text, "switch_language")],
        {"language": lang, "topic": "elder_allowance"},
    )
    await ActionAnswerService().run(dispatcher, tracker, domain)
    text = dispatcher.messages[0]["text"]
    assert expected in text and has_cjk(text) == (lang == "zh")


async def test_a_request_for_a_language_with_a_question_beside_it_answers_that_question(kb_url, dispatcher, domain):
    text = "answer in chinese pls, my dad will read it: how many disputes did the town mediate?"
    await ActionAnswerService().run(dispatcher, _conversation([(text, "switch_language")], {"language": "zh"}), domain)
    said = dispatcher.messages[0]
    assert said["text"] != t("language_switched", "zh") and said["custom"]["kind"] != "language"


async def test_a_request_for_a_language_with_nothing_asked_before_says_it_switched(kb_url, dispatcher, domain):
    tracker = _conversation([("in English please", "switch_language")], {"language": "en"})
    await ActionAnswerService().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"] == t("language_switched", "en")


@pytest.mark.parametrize(
    "text, intent, response",
    [("你好", "greet", "utter_greet"), ("谢谢", "thank", "utter_you_are_welcome"), ("bye", "goodbye", "utter_goodbye")],
)
async def test_courtesy_alone_gets_the_domains_fixed_reply(
    kb_url, dispatcher, make_tracker, domain, text, intent, response
):
    from actions.service import ActionCourtesy

    await ActionCourtesy().run(dispatcher, make_tracker(text, intent), domain)
    assert dispatcher.messages[0]["response"] == response


async def test_thanks_with_a_question_answers_it(kb_url, dispatcher, make_tracker, domain):
    from actions.service import ActionCourtesy

    await ActionCourtesy().run(dispatcher, make_tracker("谢谢，那尊老金发了多少？", "thank"), domain)
    text = dispatcher.messages[0]["text"]
    assert text.startswith("不客气！") and "1428.35万元" in text


async def test_a_question_misread_as_a_source_request_before_any_answer_is_answered(
    kb_url, dispatcher, make_tracker, domain
):
    tracker = make_tracker("尊老金一共发了多少？出处在哪？", "show_source")
    await ActionShowSource().run(dispatcher, tracker, domain)
    assert "1428.35万元" in dispatcher.messages[0]["text"]


async def test_a_request_for_a_language_after_a_request_with_its_own_question_repeats_that_question(
    kb_url, dispatcher, domain
):
    """ "And in English?" after "请用中文回答：镇上关停了几家学科类培训机构？" asks that question again, in English."""
    tracker = _conversation(
        [
            ("请用中文回答：镇上关停了几家学科类培训机构？", "switch_language"),
            ("And in English? my husband doesn't read Chinese", "switch_language"),
        ],
        {"language": "en", "topic": "tutoring_closure"},
    )
    await ActionAnswerService().run(dispatcher, tracker, domain)
    said = dispatcher.messages[0]
    assert said["custom"]["entry"] == "tutoring_closure" and not has_cjk(said["text"].split("\n")[0])
