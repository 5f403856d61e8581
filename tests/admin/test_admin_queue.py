"""The unanswered queue as a clerk works it: similar questions are one group, dismissed with a reason (and
stay dismissed when asked again), answered by writing a staff fact or a new entry that the bot uses at the
next question, in bulk; and the staff fields residents asked for that nobody filled ("what to fill first")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from actions.answering import answer_question
from actions.service import ActionAnswerService
from kb.db import session_factory
from kb.edits import StaffError, write_answer
from kb.index_cache import current_index
from kb.models import Entry, FieldGap, Revision, UnansweredQuestion, utcnow
from kb.queries import record_unanswered
from kb.questions import QueueError, dismiss, groups, question_key, reopen

RAIN = ["明天会下雨吗?", "明天會下雨嗎", "请问，明天 会下雨吗！"]


def _ask(kb_url, *texts, lang="zh", times=1):
    with session_factory(kb_url)() as session, session.begin():
        for text in texts:
            for _ in range(times):
                record_unanswered(session, text, lang, "out_of_scope")


def _id(kb_url, text):
    with session_factory(kb_url)() as session:
        return session.scalar(select(UnansweredQuestion.id).where(UnansweredQuestion.text == text))


def _rows(kb_url):
    with session_factory(kb_url)() as session:
        return {q.text: q for q in session.scalars(select(UnansweredQuestion))}


def _open_groups(kb_url):
    with session_factory(kb_url)() as session:
        return [(g.lead.text, g.count, [v.text for v in g.variants]) for g in groups(session)]


def _bot(kb_url, question, lang="zh"):
    return answer_question(question, lang, current_index(kb_url), None, 0.0, [], None)


# --- grouping ----------------------------------------------------------------------------------------------


def test_wordings_that_differ_in_case_punctuation_script_and_particles_are_one_group():
    assert len({question_key(text) for text in RAIN}) == 1
    assert question_key("Where do I park my bike?") == question_key("where do i park my BIKE please")
    assert question_key("明天下雨吗") != question_key("明天会下雨吗")  # another word: another group
    assert question_key("hi, highway tolls?") == question_key("Highway tolls") != question_key("ghway tolls")


def test_the_queue_shows_one_group_per_question_most_asked_first(kb_url):
    _ask(kb_url, RAIN[0], times=12)
    _ask(kb_url, RAIN[1], times=5)
    _ask(kb_url, RAIN[2], times=2)
    _ask(kb_url, "where do I park my bike", lang="en", times=3)
    assert _open_groups(kb_url) == [
        ("明天会下雨吗?", 19, ["明天會下雨嗎", "请问，明天 会下雨吗！"]),
        ("where do I park my bike", 3, []),
    ]


# --- dismissing --------------------------------------------------------------------------------------------


def test_dismissing_one_wording_takes_the_whole_group_off_the_queue_with_who_when_and_why(kb_url):
    _ask(kb_url, *RAIN)
    _ask(kb_url, "where do I park my bike", lang="en")
    with session_factory(kb_url)() as session, session.begin():
        assert dismiss(session, [_id(kb_url, RAIN[1])], "off_topic", "wang") == 3
    assert [text for text, _, _ in _open_groups(kb_url)] == ["where do I park my bike"]
    rows = _rows(kb_url)
    for text in RAIN:  # kept, with who, when and why
        assert (rows[text].dismissed_reason, rows[text].dismissed_by) == ("off_topic", "wang")
        assert utcnow() - rows[text].dismissed_at.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=1)
    with session_factory(kb_url)() as session:
        assert [g.count for g in groups(session, "dismissed")] == [3]


def test_a_dismissed_question_asked_again_is_counted_and_does_not_come_back(kb_url):
    _ask(kb_url, RAIN[0])
    with session_factory(kb_url)() as session, session.begin():
        dismiss(session, [_id(kb_url, RAIN[0])], "off_topic", "wang")
    _ask(kb_url, RAIN[0], times=4)  # the same words again
    _ask(kb_url, "明天会下雨呢？")  # a new wording of the dismissed group
    assert _open_groups(kb_url) == []
    rows = _rows(kb_url)
    assert rows[RAIN[0]].count == 5 and rows[RAIN[0]].dismissed_reason == "off_topic"
    assert rows["明天会下雨呢？"].dismissed_by == "wang"  # starts dismissed, as the group was


def test_bulk_dismissal_needs_a_known_reason_and_a_choice(kb_url):
    _ask(kb_url, RAIN[0])
    with session_factory(kb_url)() as session, session.begin():
        with pytest.raises(QueueError):
            dismiss(session, [_id(kb_url, RAIN[0])], "boring", "wang")
        with pytest.raises(QueueError):
            dismiss(session, [], "spam", "wang")
    assert len(_open_groups(kb_url)) == 1


def test_a_dismissed_group_can_be_put_back_on_the_queue(kb_url):
    _ask(kb_url, *RAIN)
    with session_factory(kb_url)() as session, session.begin():
        dismiss(session, [_id(kb_url, RAIN[0])], "duplicate", "wang")
        assert reopen(session, _id(kb_url, RAIN[0])) == 3
    assert _open_groups(kb_url)[0][1] == 3


# --- writing an answer -------------------------------------------------------------------------------------


def test_an_answer_written_as_a_staff_fact_is_given_to_the_question_at_once(kb_url):
    question = "尊老金每年几月份发放?"
    _ask(kb_url, question, "尊老金每年几月份发放")
    assert "每年1月" not in _bot(kb_url, question).text
    fact = {
        "kind": "statement",
        "zh": "尊老金每年1月和7月分两次发放。",
        "en": "The elder allowance is paid twice a year, in January and July.",
        "keywords": {"zh": ["几月份", "发放"], "en": ["which month"]},
    }
    with session_factory(kb_url)() as session, session.begin():
        write_answer(
            session,
            _id(kb_url, question),
            "wang",
            "尊老金每年几月份发放",
            "alias",
            entry_id="elder_allowance",
            fact=fact,
        )
    reply = _bot(kb_url, question)
    assert reply.entry_id == "elder_allowance" and "每年1月和7月" in reply.text
    assert "工作人员" in reply.text  # cited as provided by town staff
    with session_factory(kb_url)() as session:
        entry = session.get(Entry, "elder_allowance")
        assert "尊老金每年几月份发放" in entry.aliases_zh
        last = session.scalars(
            select(Revision).where(Revision.entry_id == "elder_allowance").order_by(Revision.id)
        ).all()
        assert (last[-1].action, last[-1].changed_by) == ("answer", "wang")
        assert last[-1].after["facts"][-1]["created_by"] == "wang"
    assert _open_groups(kb_url) == []  # both wordings are answered
    assert {q.entry_id for q in _rows(kb_url).values()} == {"elder_allowance"}


def test_an_answer_written_as_a_new_staff_entry_is_given_to_the_question_at_once(kb_url):
    question = "老年人有哪些福利"
    _ask(kb_url, question)
    new_entry = {
        "topic": "elder_care",
        "title": {"zh": "老年人福利一览", "en": "Benefits for older residents"},
        "summary": {
            "zh": "支塘镇的老年人可以领尊老金，还可以使用日间照料中心和居家养老服务。",
            "en": "Older residents of Zhitang receive the elder allowance and can use day care centres and home care.",
        },
    }
    with session_factory(kb_url)() as session, session.begin():
        entry = write_answer(session, _id(kb_url, question), "wang", question, "situation", new_entry=new_entry)
        assert entry.id == "benefits_for_older_residents" and entry.source == "staff"
        assert entry.situations_zh == [question]
    reply = _bot(kb_url, question)
    assert reply.entry_id == "benefits_for_older_residents"
    assert "日间照料中心" in reply.text
    assert _rows(kb_url)[question].entry_id == "benefits_for_older_residents"


def test_an_answer_never_stores_a_personal_number_unmasked(kb_url):
    _ask(kb_url, "低保怎么申请")
    fact = {
        "kind": "statement",
        "zh": "请联系王主任 13912345678 办理低保。",
        "en": "Call Director Wang on 13912345678.",
    }
    with session_factory(kb_url)() as session, session.begin():
        question = _id(kb_url, "低保怎么申请")
        entry = write_answer(
            session, question, "wang", "低保怎么申请 13912345678", "alias", entry_id="hardship_relief", fact=fact
        )
        texts = [f.text_zh + f.text_en for f in entry.facts] + list(entry.aliases_zh)
    assert not any("13912345678" in text for text in texts)
    assert any("139****5678" in text for text in texts)


@pytest.mark.parametrize(
    "change",
    [
        {"entry_id": "elder_allowance"},  # no answer written
        {"entry_id": "elder_allowance", "fact": {"kind": "statement", "zh": "只有中文。", "en": ""}},  # no English
        {"new_entry": {"topic": "elder_care", "title": {"zh": "标题", "en": ""}, "summary": {"zh": "简介", "en": ""}}},
        {},  # neither an entry nor a new one
        {"entry_id": "no_such_entry", "fact": {"kind": "statement", "zh": "内容。", "en": "Text."}},
    ],
)
def test_an_incomplete_answer_is_refused_and_changes_nothing(kb_url, change):
    _ask(kb_url, "尊老金几月发")
    with session_factory(kb_url)() as session:
        revisions = len(session.scalars(select(Revision)).all())
    with pytest.raises(StaffError), session_factory(kb_url)() as session, session.begin():
        write_answer(session, _id(kb_url, "尊老金几月发"), "wang", "尊老金几月发", "alias", **change)
    with session_factory(kb_url)() as session:
        assert len(session.scalars(select(Revision)).all()) == revisions
    assert len(_open_groups(kb_url)) == 1


# --- what to fill first ------------------------------------------------------------------------------------


def _gaps(kb_url):
    with session_factory(kb_url)() as session:
        return {(g.entry_id, g.field): g.count for g in session.scalars(select(FieldGap))}


def test_a_field_nobody_filled_counts_for_its_entry_and_for_the_service_centre(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        record_unanswered(
            session, "尊老金在哪里办，电话多少", "zh", "field_unknown", "elder_allowance", ["address", "phone"]
        )
        record_unanswered(session, "尊老金要带什么材料", "zh", "field_unknown", "elder_allowance", ["documents"])
    assert _gaps(kb_url) == {
        ("elder_allowance", "address"): 1,
        ("elder_allowance", "phone"): 1,
        ("elder_allowance", "documents"): 1,
        ("service_centre", "address"): 1,  # the bot sends residents there: its address would have helped
        ("service_centre", "phone"): 1,
    }


async def test_the_action_server_records_which_entry_and_field_the_bot_did_not_know(
    kb_url, dispatcher, make_tracker, domain
):
    await ActionAnswerService().run(dispatcher, make_tracker("尊老金几点上班?", "ask_elder_allowance"), domain)
    assert dispatcher.messages[0]["custom"]["kind"] == "field_unknown"
    assert _gaps(kb_url) == {("elder_allowance", "hours"): 1, ("service_centre", "hours"): 1}
    assert _rows(kb_url)["尊老金几点上班?"].kind == "field_unknown"


def test_a_filled_field_is_no_gap(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        session.get(Entry, "service_centre").phone_zh = "0512-52510000"
    with session_factory(kb_url)() as session, session.begin():
        record_unanswered(session, "尊老金电话多少", "zh", "field_unknown", "elder_allowance", ["phone"])
    assert _gaps(kb_url) == {("elder_allowance", "phone"): 1}


# --- the queue's screens -----------------------------------------------------------------------------------


def test_the_queue_page_shows_each_group_once_with_its_wordings(signed_in, kb_url):
    _ask(kb_url, RAIN[0], times=3)
    _ask(kb_url, RAIN[1])
    page = signed_in("wang").get("/admin/unanswered-question/list").text
    assert page.count('class="form-check-input group-box"') == 1  # one row, one box
    assert "明天会下雨吗?" in page and "明天會下雨嗎" in page and ">4<" in page
    assert 'id="bulk-dismiss"' in page and "写回答 Write an answer" in page
    viewer = signed_in("li").get("/admin/unanswered-question/list").text
    assert "group-box" not in viewer and "写回答 Write an answer" not in viewer  # viewers read only


def test_ticked_groups_are_dismissed_together_and_listed_as_dismissed(signed_in, kb_url):
    _ask(kb_url, *RAIN)
    _ask(kb_url, "加微信领红包")
    _ask(kb_url, "老年人有哪些福利")
    wang = signed_in("wang")
    ids = [str(_id(kb_url, RAIN[2])), str(_id(kb_url, "加微信领红包"))]
    response = wang.post("/admin/unanswered-question/dismiss", {"ids": ids, "reason": "spam", "back": "status=open"})
    assert response.status_code == 303 and response.headers["location"].endswith("/list?status=open")
    assert [text for text, _, _ in _open_groups(kb_url)] == ["老年人有哪些福利"]
    dismissed = wang.get("/admin/unanswered-question/list?status=dismissed").text
    assert "垃圾信息 Spam" in dismissed and "wang" in dismissed and "放回待处理" in dismissed


def test_one_groups_dismiss_button_names_it_in_the_address(signed_in, kb_url):
    _ask(kb_url, RAIN[0])
    wang = signed_in("wang")
    response = wang.post(f"/admin/unanswered-question/dismiss?ids={_id(kb_url, RAIN[0])}", {"reason": "off_topic"})
    assert response.status_code == 303
    assert _rows(kb_url)[RAIN[0]].dismissed_reason == "off_topic"


@pytest.mark.parametrize("data", [{"reason": "boring"}, {"reason": "spam", "ids": "x"}, {"reason": "spam"}])
def test_a_dismissal_without_a_known_reason_or_a_question_is_refused(signed_in, kb_url, data):
    _ask(kb_url, RAIN[0])
    data = {"ids": str(_id(kb_url, RAIN[0])), **data} if data != {"reason": "spam"} else data
    response = signed_in("wang").post("/admin/unanswered-question/dismiss", data)
    assert response.status_code == 400
    assert len(_open_groups(kb_url)) == 1


def test_a_viewer_cannot_dismiss(signed_in, kb_url):
    _ask(kb_url, RAIN[0])
    response = signed_in("li").post(
        "/admin/unanswered-question/dismiss", {"ids": str(_id(kb_url, RAIN[0])), "reason": "spam"}
    )
    assert response.status_code == 403
    assert len(_open_groups(kb_url)) == 1


def test_the_answer_form_writes_a_staff_fact_the_bot_gives_at_once(signed_in, kb_url):
    question = "尊老金每年几月份发放?"
    _ask(kb_url, question)
    wang = signed_in("wang")
    path = f"/admin/unanswered-question/answer/{_id(kb_url, question)}"
    form = wang.get(path).text
    assert 'value="尊老金每年几月份发放"' in form  # the question, prefilled without its question mark
    assert re.search(r'name="entry_id" value="elder_allowance"\s+checked', form)  # the likely entry, chosen
    data = {
        "wording": "尊老金每年几月份发放",
        "as": "situation",
        "mode": "fact",
        "entry_id": "elder_allowance",
        "fact_zh": "尊老金每年1月和7月分两次发放。",
        "fact_en": "",  # forgotten
        "keywords_zh": "几月份, 发放",
    }
    refused = wang.post(path, data, token_from=path)
    assert refused.status_code == 400 and "英文" in refused.text
    assert "尊老金每年1月和7月分两次发放。" in refused.text  # what was typed is still there
    data["fact_en"] = "The elder allowance is paid twice a year, in January and July."
    response = wang.post(path, data, token_from=path)
    assert response.status_code == 303
    assert response.headers["location"].endswith("/admin/entry/details/elder_allowance")
    reply = _bot(kb_url, question)
    assert reply.entry_id == "elder_allowance" and "每年1月和7月" in reply.text


def test_the_answer_form_makes_a_new_entry_for_a_new_need(signed_in, kb_url):
    _ask(kb_url, "老年人有哪些福利")
    wang = signed_in("wang")
    path = f"/admin/unanswered-question/answer/{_id(kb_url, '老年人有哪些福利')}"
    data = {
        "wording": "老年人有哪些福利",
        "as": "situation",
        "mode": "entry",
        "topic": "elder_care",
        "title_zh": "老年人福利一览",
        "title_en": "Benefits for older residents",
        "summary_zh": "支塘镇的老年人可以领尊老金，还可以使用日间照料中心和居家养老服务。",
        "summary_en": "Older residents receive the elder allowance and can use day care centres and home care.",
    }
    response = wang.post(path, data, token_from=path)
    assert response.status_code == 303
    assert response.headers["location"].endswith("/admin/entry/details/benefits_for_older_residents")
    assert _bot(kb_url, "老年人有哪些福利").entry_id == "benefits_for_older_residents"


@pytest.mark.parametrize("data", [{"mode": "neither"}, {"mode": "fact", "fact_zh": ("a", "b")}])
def test_a_malformed_answer_form_is_a_400(signed_in, kb_url, data):
    _ask(kb_url, RAIN[0])
    path = f"/admin/unanswered-question/answer/{_id(kb_url, RAIN[0])}"
    response = signed_in("wang").post(path, {"wording": "x", "as": "alias", **data}, token_from=path)
    assert response.status_code == 400
