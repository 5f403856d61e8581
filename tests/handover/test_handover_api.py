"""The live handover through the gateway and the admin: asking for a person queues the conversation, the bot stays
silent while staff have it, one staff member takes it (never two), replies go both ways without names, the
resident can cancel, nobody taking it in time offers a message (留言) whose number needs consent, and everything
goes with the conversation."""

from __future__ import annotations

import json
import re
import threading
from datetime import time, timedelta

import sqlalchemy as sa

from kb import handover as desk
from kb import retention
from kb.db import session_factory
from kb.models import Handover, HandoverEvent, HandoverSettings, ResidentMessage, StaffUser
from tests.handover.conftest import ASK_FOR_PERSON

SESSION = "resident-0001-abcd"


def say(resident, text: str, session: str = SESSION, lang: str = "zh") -> dict:
    response = resident.post("/api/chat", json={"session": session, "text": text, "lang": lang})
    assert response.status_code == 200, response.text
    return response.json()


def events_of(resident, session: str = SESSION, after: int = 0) -> list[tuple[str, dict]]:
    """The server-sent events of the conversation's handover until the stream ends (it ends once it is over)."""
    out, name = [], "message"
    with resident.stream("GET", f"/api/handover/events?session={session}&after={after}") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                out.append((name, json.loads(line.split(":", 1)[1])))
    return out


def state_of(kb_url: str, handover_id: int) -> Handover:
    with session_factory(kb_url)() as session:
        row = session.get(Handover, handover_id)
        assert row is not None
        return row


def test_asking_for_a_person_puts_the_conversation_in_the_queue_with_its_place_and_wait(resident, rasa):
    first = say(resident, ASK_FOR_PERSON)
    assert first["handover"]["state"] == "waiting"
    assert first["handover"]["position"] == 1
    assert first["handover"]["wait_minutes"] == 10 and first["handover"]["wait_measured"] is False  # at most N
    second = say(resident, "I want to talk to a person", session="resident-0002-abcd", lang="en")
    assert second["handover"]["position"] == 2
    sent = [json.loads(call.request.content) for call in rasa.calls]
    assert all(body["metadata"]["handover"] is True for body in sent)  # the action knows the widget can hand over


def test_while_queued_or_with_staff_the_bot_does_not_answer_and_staff_see_the_masked_message(resident, staff, rasa):
    handover_id = say(resident, ASK_FOR_PERSON)["handover"]["id"]
    calls = rasa.calls.call_count
    diverted = say(resident, "我的电话是13812345678，尊老金怎么领")
    assert diverted["messages"] == [] and diverted["handover"]["state"] == "waiting"
    assert rasa.calls.call_count == calls  # not forwarded to Rasa
    page = staff("wang").get(f"/admin/handover?id={handover_id}")
    assert page.status_code == 200
    assert "138****5678" in page.text and "13812345678" not in page.text


def test_a_taken_conversation_cannot_be_taken_by_another_agent(resident, staff, kb_url):
    handover_id = say(resident, ASK_FOR_PERSON)["handover"]["id"]
    wang, zhao = staff("wang"), staff("zhao")
    tokens = {name: client.token("/admin/handover") for name, client in (("wang", wang), ("zhao", zhao))}
    start, results = threading.Barrier(2), {}

    def take(name, client):
        start.wait()
        response = client.http.post(f"/admin/handover/{handover_id}/take", data={"csrf_token": tokens[name]})
        results[name] = response.status_code

    threads = [threading.Thread(target=take, args=pair) for pair in (("wang", wang), ("zhao", zhao))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [303, 409]
    winner = next(name for name, status in results.items() if status == 303)
    assert state_of(kb_url, handover_id).taken_by == winner
    with session_factory(kb_url)() as session:
        taken = session.scalars(sa.select(HandoverEvent).where(HandoverEvent.text == "active")).all()
    assert len(taken) == 1


def test_staff_replies_reach_the_resident_as_town_staff_without_a_name_and_closing_hands_back_to_the_bot(
    resident, staff, rasa
):
    handover_id = say(resident, ASK_FOR_PERSON)["handover"]["id"]
    wang = staff("wang")
    assert wang.post(f"/admin/handover/{handover_id}/take", token_from="/admin/handover").status_code == 303
    reply = wang.post(
        f"/admin/handover/{handover_id}/reply", {"text": "您好，我是镇便民服务中心的工作人员。"}, "/admin/handover"
    )
    assert reply.status_code == 303
    assert wang.post(f"/admin/handover/{handover_id}/close", token_from="/admin/handover").status_code == 303
    events = events_of(resident)
    staff_lines = [data for name, data in events if name == "handover" and data["kind"] == "staff"]
    assert [line["text"] for line in staff_lines] == ["您好，我是镇便民服务中心的工作人员。"]
    assert "wang" not in json.dumps(events, ensure_ascii=False)
    assert [data["state"] for name, data in events if name == "status"][-1] == "closed"
    calls = rasa.calls.call_count
    assert say(resident, "尊老金发了多少")["messages"][0]["text"] == "机器人的回答 the bot's answer"
    assert rasa.calls.call_count == calls + 1  # the bot answers again


def test_the_stream_resumes_after_the_last_event_the_browser_saw(resident, staff):
    handover_id = say(resident, ASK_FOR_PERSON)["handover"]["id"]
    wang = staff("wang")
    wang.post(f"/admin/handover/{handover_id}/take", token_from="/admin/handover")
    wang.post(f"/admin/handover/{handover_id}/reply", {"text": "第一条"}, "/admin/handover")
    wang.post(f"/admin/handover/{handover_id}/reply", {"text": "第二条"}, "/admin/handover")
    wang.post(f"/admin/handover/{handover_id}/close", token_from="/admin/handover")
    everything = [data for name, data in events_of(resident) if name == "handover"]
    first = next(e for e in everything if e["text"] == "第一条")
    resumed = [data["text"] for name, data in events_of(resident, after=first["id"]) if name == "handover"]
    assert resumed == ["第二条", "closed"]


def test_only_whoever_has_the_conversation_replies_transfers_or_closes_it_and_viewers_see_nothing(
    resident, staff, kb_url
):
    handover_id = say(resident, ASK_FOR_PERSON)["handover"]["id"]
    wang, zhao = staff("wang"), staff("zhao")
    assert staff("li").get("/admin/handover").status_code == 403  # a viewer
    assert zhao.post(f"/admin/handover/{handover_id}/reply", {"text": "抢答"}, "/admin/handover").status_code == 409
    wang.post(f"/admin/handover/{handover_id}/take", token_from="/admin/handover")
    assert zhao.post(f"/admin/handover/{handover_id}/close", token_from="/admin/handover").status_code == 409
    assert wang.post(f"/admin/handover/{handover_id}/transfer", {"to": "li"}, "/admin/handover").status_code == 400
    assert wang.post(f"/admin/handover/{handover_id}/transfer", {"to": "zhao"}, "/admin/handover").status_code == 303
    assert state_of(kb_url, handover_id).taken_by == "zhao"
    assert wang.post(f"/admin/handover/{handover_id}/reply", {"text": "还是我"}, "/admin/handover").status_code == 409
    assert zhao.post(f"/admin/handover/{handover_id}/close", token_from="/admin/handover").status_code == 303
    assert state_of(kb_url, handover_id).state == "closed"


def test_the_resident_can_leave_the_queue(resident, kb_url):
    handover_id = say(resident, ASK_FOR_PERSON)["handover"]["id"]
    response = resident.post("/api/handover/cancel", json={"session": SESSION, "lang": "en"})
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled" and "assistant answers again" in response.json()["message"]
    assert state_of(kb_url, handover_id).state == "cancelled"
    assert say(resident, "尊老金发了多少")["messages"]  # the bot again


def test_nobody_taking_it_in_time_expires_it_and_only_one_gateway_expires_it(resident, kb_url):
    handover_id = say(resident, ASK_FOR_PERSON)["handover"]["id"]
    with session_factory(kb_url)() as session, session.begin():
        session.get(Handover, handover_id).created_at -= timedelta(minutes=11)
    with session_factory(kb_url)() as session, session.begin():
        hours = desk.current_hours(session)
        assert desk.expire_overdue(session, hours) == [handover_id]
        assert desk.expire_overdue(session, hours) == []  # a second gateway finds nothing to do
    assert [d["state"] for n, d in events_of(resident) if n == "status"][-1] == "expired"


def test_a_message_left_keeps_a_callback_number_only_with_consent_and_shows_it_only_on_its_own_staff_page(
    resident, staff
):
    body = {
        "session": SESSION,
        "lang": "zh",
        "text": "请回电，关于医保。我的身份证 320581199001011234",
        "phone": "13812345678",
    }
    refused = resident.post("/api/handover/message", json={**body, "consent": False})
    assert refused.status_code == 400 and refused.json()["error"] == "no_consent"
    assert (
        resident.post("/api/handover/message", json={**body, "phone": "12", "consent": True}).json()["error"]
        == "bad_phone"
    )
    left = resident.post("/api/handover/message", json={**body, "consent": True})
    assert left.status_code == 201
    wang = staff("wang")
    listing = wang.get("/admin/handover-messages").text
    assert "138****5678" in listing and "13812345678" not in listing
    assert "320581199001011234" not in listing  # the ID number in the text is masked
    item = wang.get(f"/admin/handover-messages/{left.json()['id']}").text
    assert "13812345678" in item
    assert (
        wang.post(f"/admin/handover-messages/{left.json()['id']}", token_from="/admin/handover-messages").status_code
        == 303
    )
    assert "13812345678" not in wang.get("/admin/handover-messages?done=1").text


def test_handovers_and_messages_go_with_the_conversation_and_with_the_retention(resident, kb_url):
    say(resident, ASK_FOR_PERSON)
    resident.post(
        "/api/handover/message", json={"session": SESSION, "text": "留言", "phone": "13812345678", "consent": True}
    )
    other = "resident-0003-abcd"
    say(resident, ASK_FOR_PERSON, session=other)
    forgotten = resident.post("/api/forget", json={"session": SESSION})
    assert forgotten.json()["deleted"]["handover"] >= 3  # the handover, its event and the message
    with session_factory(kb_url)() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ResidentMessage)) == 0
        assert session.scalar(sa.select(sa.func.count()).where(Handover.session == SESSION)) == 0
    report = retention.purge(days=1, now=desk.utcnow() + timedelta(days=2), kb_url=kb_url, tracker_url="sqlite://")
    assert report.handover >= 2
    with session_factory(kb_url)() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Handover)) == 0


def test_office_hours_and_holidays_decide_whether_a_person_answers_now(kb_url):
    from datetime import date, datetime

    from bot.office_hours import TOWN_TIME

    wednesday_10 = datetime(2024, 5, 8, 10, 5, tzinfo=TOWN_TIME)
    with session_factory(kb_url)() as session, session.begin():
        hours = desk.current_hours(session)
        assert hours.week == {day: [(time(8, 30), time(12, 0)), (time(13, 0), time(16, 30))] for day in range(5)}
        assert desk.staff_available(hours, wednesday_10)
        assert not desk.staff_available(hours, wednesday_10.replace(hour=12, minute=30))
        desk.save_hours(session, "", "2024-05-08", 5, "wang")
        assert not desk.staff_available(desk.current_hours(session), wednesday_10)  # a holiday
        try:
            desk.save_hours(session, "看情况", "", 5, "wang")
        except desk.HandoverError as err:
            assert err.status == 400
        else:
            raise AssertionError("unreadable hours were saved")
        assert desk.current_hours(session).holidays == frozenset({date(2024, 5, 8)})


def test_office_hours_staff_type_are_kept_as_days_and_times_not_as_their_text(kb_url):
    with session_factory(kb_url)() as session, session.begin():
        desk.save_hours(session, "周一至周五 8:30-17:00，周六上午9:00-12:00，周日休息", "", 10, "wang", " 中午不休息 ")
    with session_factory(kb_url)() as session:
        row = session.get(HandoverSettings, 1)
        assert row.weekly_hours == {
            **{day: [["8:30", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "sat": [["9:00", "12:00"]],
        }
        assert row.hours_note == "中午不休息" and row.updated_by == "wang"
        assert desk.current_hours(session).week[5] == [(time(9, 0), time(12, 0))]


def test_bad_requests_get_a_clear_4xx(resident):
    assert resident.get("/api/handover/events?session=bad").status_code == 400
    assert resident.get(f"/api/handover/events?session={SESSION}&after=x").status_code == 400
    assert resident.post("/api/handover/cancel", json={"session": 5}).status_code == 400
    assert resident.post("/api/handover/message", json={"session": SESSION, "text": ""}).status_code == 400
    assert resident.post("/api/handover/message", json={"session": SESSION, "text": "x", "extra": 1}).status_code == 400


def test_a_waiting_resident_moves_up_the_queue_and_the_wait_is_measured_from_taken_conversations(resident, staff):
    from bot.web.gateway.handover import poll

    first = say(resident, ASK_FOR_PERSON)["handover"]["id"]
    second = "resident-0004-abcd"
    assert say(resident, ASK_FOR_PERSON, session=second)["handover"]["position"] == 2
    staff("wang").post(f"/admin/handover/{first}/take", token_from="/admin/handover")
    _, status = poll(second, 0)
    assert status["position"] == 1
    assert status["wait_measured"] is True and 1 <= status["wait_minutes"] <= 10


def test_with_no_other_staff_account_the_transfer_control_is_disabled_with_the_reason_not_an_empty_list(
    resident, staff, kb_url
):
    handover_id = say(resident, ASK_FOR_PERSON)["handover"]["id"]
    wang = staff("wang")
    wang.post(f"/admin/handover/{handover_id}/take", token_from="/admin/handover")
    page = wang.get(f"/admin/handover?id={handover_id}").text
    assert '<option value="zhao">' in page and '<option value="wang">' not in page  # never oneself
    with session_factory(kb_url)() as session, session.begin():
        for account in session.scalars(sa.select(StaffUser).where(StaffUser.username.in_(("zhao", "boss")))):
            account.active = False  # wang is the only editor or admin left
    page = wang.get(f"/admin/handover?id={handover_id}").text
    assert 'id="transfer-to"' not in page and "<option" not in page
    assert re.search(r'<button type="button"[^>]*id="transfer" disabled', page)
    assert "没有其他可转交的工作人员账号" in page and "No other staff account" in page


def test_the_staff_page_of_a_message_says_in_both_languages_who_agreed_to_the_call_back(resident, staff):
    body = {"session": SESSION, "lang": "en", "text": "Please call me back", "phone": "13812345678", "consent": True}
    left = resident.post("/api/handover/message", json=body)
    item = staff("wang").get(f"/admin/handover-messages/{left.json()['id']}").text
    consent = re.search(r'<span class="help" id="consent">([^<]*)</span>', item)
    assert consent, "no consent line"
    assert consent.group(1).startswith("居民于 ") and "The resident agreed to a call back" in consent.group(1)
