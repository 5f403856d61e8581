"""The admin's screens as a staff member uses them: edit, conflict, add, retire, history, facts, inbox, search."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from admin_helpers import form_values
from sqlalchemy import select

from actions.answering import answer_entry
from kb.db import session_factory
from kb.index_cache import current_index
from kb.models import Entry, Fact, Feedback, Revision, UnansweredQuestion

HOURS_ZH = "周一至周五 8:30-17:00(节假日除外)"
HOURS_EN = "Mon-Fri 8:30-17:00, except public holidays"


def _entry(kb_url: str, eid: str = "elder_allowance") -> Entry:
    with session_factory(kb_url)() as session:
        entry = session.get(Entry, eid)
        entry.facts  # noqa: B018 - load before the session closes
        return entry


def _revisions(kb_url: str, eid: str = "elder_allowance") -> list[Revision]:
    with session_factory(kb_url)() as session:
        return list(session.scalars(select(Revision).where(Revision.entry_id == eid).order_by(Revision.id)))


def _edit_form(staff, path="/admin/entry/edit/elder_allowance") -> dict:
    page = staff.get(path)
    assert page.status_code == 200, page.text
    values = form_values(page.text)
    values.pop("csrf_token", None)
    return values


def test_saving_the_edit_form_unchanged_loses_nothing(signed_in, kb_url):
    wang = signed_in("wang")
    before = _entry(kb_url)
    values = _edit_form(wang)
    assert values["revision"] == "1"
    assert values["aliases_zh"] == before.aliases_zh and values["related"] == before.related
    response = wang.post("/admin/entry/edit/elder_allowance", {**values, "save": "Save"})
    assert response.status_code == 302
    after = _entry(kb_url)
    assert (after.revision, after.aliases_zh, after.aliases_en, after.summary_zh) == (
        1,
        before.aliases_zh,
        before.aliases_en,
        before.summary_zh,
    )
    assert len(_revisions(kb_url)) == 1


def test_setting_office_hours_in_the_form_reaches_the_bot(signed_in, kb_url):
    wang = signed_in("wang")
    values = _edit_form(wang)
    values.update(hours_zh=HOURS_ZH, hours_en=HOURS_EN, save="Save")
    response = wang.post("/admin/entry/edit/elder_allowance", values)
    assert response.status_code == 302
    assert response.headers["location"].endswith("/admin/entry/details/elder_allowance")
    page = wang.get("/admin/entry/details/elder_allowance").text
    assert HOURS_ZH in page and "已保存" in page
    entry = _entry(kb_url)
    assert (entry.hours_zh, entry.hours_en, entry.revision, entry.updated_by) == (HOURS_ZH, HOURS_EN, 2, "wang")
    last = _revisions(kb_url)[-1]
    assert (last.changed_by, last.action) == ("wang", "update")
    assert last.after["staff"]["hours"] == {"zh": HOURS_ZH, "en": HOURS_EN}
    index = current_index(kb_url)
    entries = {e["id"]: e for e in index.entries}
    assert HOURS_ZH in answer_entry(entries["elder_allowance"], "尊老金几点上班", "zh", index).text


def test_two_staff_saving_at_once_the_second_gets_a_conflict(signed_in, kb_url):
    wang, zhao = signed_in("wang"), signed_in("zhao")
    wang_form, zhao_form = _edit_form(wang), _edit_form(zhao)
    assert wang.post("/admin/entry/edit/elder_allowance", {**wang_form, "hours_zh": HOURS_ZH}).status_code == 302
    response = zhao.post("/admin/entry/edit/elder_allowance", {**zhao_form, "phone_zh": "0512-52510000"})
    assert response.status_code == 400
    assert "wang" in response.text and "没有保存" in response.text and "not saved" in response.text
    assert "办公时间" in response.text  # what wang changed is shown
    assert "0512-52510000" in response.text  # zhao's input is still in the form
    entry = _entry(kb_url)
    assert (entry.hours_zh, entry.phone_zh, entry.revision) == (HOURS_ZH, None, 2)
    # Zhao decides to keep both: the "save mine" button carries the current revision (first in the form).
    values = form_values(response.text)
    values.pop("csrf_token")
    values["hours_zh"] = HOURS_ZH
    overwrite = re.search(r'<button type="submit" name="revision" value="(\d+)"', response.text).group(1)
    assert overwrite == "2"
    data = [("revision", overwrite)] + [(k, v) for k, v in values.items() for v in (v if isinstance(v, list) else [v])]
    token = zhao.token("/admin/")
    response = zhao.http.post(
        "/admin/entry/edit/elder_allowance",
        content=urlencode(data + [("csrf_token", token)]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 302, response.text
    entry = _entry(kb_url)
    assert (entry.hours_zh, entry.phone_zh, entry.revision) == (HOURS_ZH, "0512-52510000", 3)


def test_add_a_service_and_find_it(signed_in, kb_url):
    wang = signed_in("wang")
    assert wang.get("/admin/entry/create").status_code == 200
    data = {
        "id": "flu_vaccine",
        "topic": "health",
        "title_zh": "流感疫苗接种",
        "title_en": "Flu vaccination",
        "summary_zh": "镇卫生院为居民接种流感疫苗。",
        "summary_en": "The town health centre gives residents flu shots.",
        "aliases_zh": ["打流感针"],
        "aliases_en": ["flu shot"],
        "address_zh": "支塘镇卫生院二楼",
        "save": "Save",
    }
    response = wang.post("/admin/entry/create", data)
    assert response.status_code == 302
    assert response.headers["location"].endswith("/admin/entry/details/flu_vaccine")
    entry = _entry(kb_url, "flu_vaccine")
    assert (entry.source, entry.address_zh, entry.updated_by) == ("staff", "支塘镇卫生院二楼", "wang")
    assert "flu_vaccine" in wang.get("/admin/entry/list?search=流感").text
    assert current_index(kb_url).search_entries("打流感针", k=1)[0].key == "flu_vaccine"


def test_a_refused_entry_shows_why_and_keeps_the_input(signed_in, kb_url):
    wang = signed_in("wang")
    data = {
        "id": "Bad Id",
        "topic": "health",
        "title_zh": "新服务",
        "title_en": "新服务",
        "summary_zh": "x",
        "summary_en": "x",
        "save": "Save",
    }
    response = wang.post("/admin/entry/create", data)
    assert response.status_code == 400
    assert "snake_case" in response.text and "Chinese characters" in response.text
    assert 'value="新服务"' in response.text
    with session_factory(kb_url)() as session:
        assert session.scalar(select(Entry).where(Entry.title_zh == "新服务")) is None


def test_retire_then_reactivate_never_deletes(signed_in, kb_url):
    wang = signed_in("wang")
    page = wang.get("/admin/entry/retire/sports_park")
    assert page.status_code == 200 and "Nothing is deleted" in page.text
    response = wang.post("/admin/entry/retire/sports_park", {"revision": "1", "retired": "1"})
    assert response.status_code == 303
    assert _entry(kb_url, "sports_park").retired
    assert "retired" in wang.get("/admin/entry/list?retired=true").text
    assert "sports_park" not in {e["id"] for e in current_index(kb_url).entries}
    response = wang.post("/admin/entry/retire/sports_park", {"revision": "1", "retired": "0"})
    assert response.status_code == 409 and "revision 2" in response.text  # a stale page: refused
    assert wang.post("/admin/entry/retire/sports_park", {"revision": "2", "retired": "0"}).status_code == 303
    assert not _entry(kb_url, "sports_park").retired
    assert [r.action for r in _revisions(kb_url, "sports_park")] == ["create", "retire", "unretire"]


def test_history_shows_before_and_after_and_restores(signed_in, kb_url):
    wang = signed_in("wang")
    values = _edit_form(wang)
    wang.post("/admin/entry/edit/elder_allowance", {**values, "hours_zh": HOURS_ZH})
    first, second = _revisions(kb_url)
    listing = wang.get("/admin/revision/list?entry_id=elder_allowance").text
    assert "办公时间" in listing and "wang" in listing
    page = wang.get(f"/admin/revision/details/{second.id}").text
    assert HOURS_ZH in page and "diff-after" in page
    page = wang.get(f"/admin/revision/details/{first.id}").text
    assert "Restore" in page
    response = wang.post(f"/admin/revision/restore/{first.id}", {"revision": "1"})
    assert response.status_code == 409  # the entry moved on since this page was loaded
    response = wang.post(f"/admin/revision/restore/{first.id}", {"revision": "2"})
    assert response.status_code == 303
    entry = _entry(kb_url)
    assert entry.hours_zh is None and entry.revision == 3
    assert _revisions(kb_url)[-1].action == "restore"


def test_correct_a_report_fact_and_add_a_staff_fact(signed_in, kb_url):
    wang = signed_in("wang")
    fact_id = next(f.id for f in _entry(kb_url).facts if f.key == "beneficiaries")
    page = wang.get(f"/admin/fact/edit/{fact_id}")
    assert "受益老人21389人" in page.text  # the quote is shown, read-only
    values = form_values(page.text)
    values.pop("csrf_token")
    values.update(text_en="In 2022, 21389 seniors in Zhitang received the elder allowance.", save="Save")
    response = wang.post(f"/admin/fact/edit/{fact_id}", values)
    assert response.status_code == 302
    assert response.headers["location"].endswith("/admin/entry/details/elder_allowance")  # the fact's entry
    fact = next(f for f in _entry(kb_url).facts if f.key == "beneficiaries")
    assert (fact.source, fact.quote, fact.text_en[:20]) == ("report", "受益老人21389人", "In 2022, 21389 senio")

    page = wang.get("/admin/fact/create?entry_id=elder_allowance").text
    assert form_values(page)["entry_id"] == "elder_allowance"
    data = {
        "entry_id": "elder_allowance",
        "kind": "statement",
        "text_zh": "尊老金每月10日前发到社保卡。",
        "text_en": "The allowance reaches the social security card by the 10th of each month.",
        "keywords_zh": ["几号发"],
        "save": "Save",
    }
    response = wang.post("/admin/fact/create", data)
    assert response.status_code == 302, response.text
    assert response.headers["location"].endswith("/admin/entry/details/elder_allowance")
    staff_fact = next(f for f in _entry(kb_url).facts if f.source == "staff")
    assert (staff_fact.created_by, staff_fact.quote, staff_fact.keywords_zh) == ("wang", None, ["几号发"])
    assert "工作人员提供" in wang.get("/admin/entry/details/elder_allowance").text

    response = wang.post(f"/admin/fact/remove/{staff_fact.id}", {"revision": str(_entry(kb_url).revision)})
    assert response.status_code == 303
    with session_factory(kb_url)() as session:
        assert session.get(Fact, staff_fact.id).retired  # kept, out of use, in the history
    assert "尊老金每月10日前" not in wang.get("/admin/entry/details/elder_allowance").text


def test_unanswered_questions_with_counts_can_be_attached(signed_in, kb_url):
    with session_factory(kb_url)() as session, session.begin():
        session.add(UnansweredQuestion(text="老人每月那笔钱叫啥", lang="zh", count=7))
        session.add(UnansweredQuestion(text="where do I park my bike", lang="en", count=2))
    wang = signed_in("wang")
    listing = wang.get("/admin/unanswered-question/list").text
    assert listing.index("老人每月那笔钱叫啥") < listing.index("where do I park my bike")  # most asked first
    assert re.search(r">\s*7\s*<", listing)
    assert "老人每月那笔钱叫啥" in wang.get("/admin/").text  # on the first page too
    with session_factory(kb_url)() as session:
        qid = session.scalar(select(UnansweredQuestion.id).where(UnansweredQuestion.count == 7))
    page = wang.get(f"/admin/unanswered-question/attach/{qid}").text
    assert 'value="elder_allowance"' in page
    response = wang.post(f"/admin/unanswered-question/attach/{qid}", {"entry_id": "elder_allowance"})
    assert response.status_code == 303
    assert "老人每月那笔钱叫啥" in _entry(kb_url).aliases_zh
    assert "老人每月那笔钱叫啥" not in wang.get("/admin/unanswered-question/list").text  # done: filtered out
    assert "老人每月那笔钱叫啥" in wang.get("/admin/unanswered-question/list?attached=yes").text


def test_feedback_lists_thumbs_down_first_with_counts(signed_in, kb_url):
    with session_factory(kb_url)() as session, session.begin():
        session.add(Feedback(session="s1", rating="up", question="尊老金多少", entry_id="elder_allowance"))
        for n in range(3):
            session.add(
                Feedback(session=f"s{n}", rating="down", question=f"尊老金怎么领{n}", entry_id="elder_allowance")
            )
    page = signed_in("li").get("/admin/feedback/list").text
    assert page.index("尊老金怎么领") < page.index("尊老金多少")
    counts = page[page.index('id="thumbs-down-counts"') :]
    assert re.search(r"尊老金 Elder allowance\s*<span[^>]*>\s*3\s*<", counts)  # by its name, not its id


def test_search_and_filter_entries(signed_in):
    li = signed_in("li")
    found = li.get("/admin/entry/list?search=尊老").text
    assert "elder_allowance" in found and "sports_park" not in found
    assert "elder_allowance" in li.get("/admin/entry/list?search=old-age").text  # by an English alias
    topic = li.get("/admin/entry/list?topic=elder_care").text
    assert "day_care_centres" in topic and "sports_park" not in topic
    assert "elder_allowance" in li.get("/admin/entry/list?contacts=missing").text


def test_pages_need_no_inline_script_or_style(signed_in, kb_url):
    """The gateway's Content-Security-Policy (script-src/style-src 'self') forbids inline scripts and styles."""
    with session_factory(kb_url)() as session, session.begin():
        session.add(UnansweredQuestion(text="怎么办老年卡", lang="zh"))
        session.add(Feedback(session="s", rating="down", question="尊老金", entry_id="elder_allowance"))
    boss = signed_in("boss")
    fact_id = _entry(kb_url).facts[0].id
    pages = [
        "/admin/",
        "/admin/entry/list",
        "/admin/entry/details/elder_allowance",
        "/admin/entry/edit/elder_allowance",
        "/admin/entry/create",
        "/admin/entry/retire/elder_allowance",
        "/admin/fact/list",
        f"/admin/fact/details/{fact_id}",
        f"/admin/fact/edit/{fact_id}",
        "/admin/fact/create",
        f"/admin/fact/remove/{fact_id}",
        "/admin/revision/list",
        "/admin/revision/details/1",
        "/admin/unanswered-question/list",
        "/admin/unanswered-question/attach/1",
        "/admin/feedback/list",
        "/admin/exchange",
        "/admin/staff-user/list",
        "/admin/staff-user/create",
        "/admin/staff-user/edit/1",
    ]
    for path in pages:
        response = boss.get(path)
        assert response.status_code == 200, path
        html = response.text
        assert not re.search(r"<script\b(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html and not re.search(r'\sstyle="', html), path
        assert not re.search(r"\son[a-z]+=", html) and "javascript:" not in html, path
    assert boss.get("/admin/zt/admin.js").status_code == 200
    assert boss.get("/admin/zt/admin.css").status_code == 200
