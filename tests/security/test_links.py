"""Finding 9: a staff `link` must be a full http(s) web address when it is saved, not only when the widget
shows it. The check is in kb.source.entry_problems, which the build, the admin and the YAML import all use."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from kb.db import session_factory
from kb.edits import StaffError, update_entry
from kb.models import Entry, Revision
from kb.source import entry_problems

# The admin tests' own fixtures (a signed-in staff browser on the test KB) and form reader.
ADMIN_TESTS = Path(__file__).resolve().parents[1] / "admin"
if str(ADMIN_TESTS) not in sys.path:
    sys.path.insert(0, str(ADMIN_TESTS))
from admin_helpers import form_values  # noqa: E402

_spec = importlib.util.spec_from_file_location("security_admin_fixtures", ADMIN_TESTS / "conftest.py")
assert _spec and _spec.loader
_admin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_admin)
admin_app, signed_in = _admin.admin_app, _admin.signed_in

REFUSED = "http:// or https://"

BAD_LINKS = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "  javascript:alert(1)",
    "\u200bjavascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "javascript&#58;alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "javascript:/*https://zwfw.example.gov.cn*/alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://files.example.gov.cn/form.doc",
    "https:javascript:alert(1)",
    "//evil.example.com/phish",
    "/relative/path",
    "https://",
    'https://zwfw.example.gov.cn/"onmouseover="alert(1)',
    "https://zwfw.example.gov.cn/<script>",
    "https://zwfw.example.gov.cn/a b",
    "https://zwfw.example.gov.cn/\u202egnp.exe",
    "请在微信搜索支塘发布",
]
GOOD_LINKS = [
    "https://zwfw.jiangsu.gov.cn/",
    "http://www.changshu.gov.cn/zgcs/c100183/list.shtml",
    "HTTPS://Zwfw.Example.gov.cn/apply?item=elder&lang=zh#top",
    "https://支塘.example.cn/办事指南",
]


def _entry(kb_url: str, eid: str = "elder_allowance") -> Entry:
    with session_factory(kb_url)() as session:
        return session.get(Entry, eid)


def _save_link(kb_url: str, zh: str | None, en: str | None = None) -> Entry:
    with session_factory(kb_url)() as session, session.begin():
        revision = session.get(Entry, "elder_allowance").revision
        update_entry(session, "elder_allowance", {"staff": {"link": {"zh": zh, "en": en}}}, revision, "wang")
    return _entry(kb_url)


@pytest.mark.parametrize("link", BAD_LINKS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_link_that_is_not_a_web_address_is_refused_on_save(kb_url, link, lang):
    """update_entry (the one write path) refuses it with a bilingual reason; nothing is saved."""
    with pytest.raises(StaffError) as refused:
        _save_link(kb_url, **{lang: link, "zh" if lang == "en" else "en": "https://zwfw.jiangsu.gov.cn/"})
    assert any(REFUSED in p and "链接" in p for p in refused.value.problems), refused.value.problems
    entry = _entry(kb_url)
    assert (entry.link_zh, entry.link_en, entry.revision) == (None, None, 1)


@pytest.mark.parametrize("link", GOOD_LINKS)
def test_a_full_http_or_https_address_is_saved(kb_url, link):
    entry = _save_link(kb_url, link, link)
    assert (entry.link_zh, entry.link_en, entry.revision) == (link, link, 2)


def test_an_empty_link_is_no_link(kb_url):
    assert _save_link(kb_url, "", None).link_zh in ("", None)


def test_the_yaml_source_is_checked_the_same_way():
    """The build and the YAML import read entries through the same check."""
    entry = {"id": "x", "topic": "t", "staff": {"link": {"zh": "javascript:alert(1)", "en": "https://a.example/"}}}
    assert [p for p in entry_problems(entry, [], set(), from_report=False) if REFUSED in p] != []
    entry["staff"]["link"]["zh"] = "https://a.example/"
    assert [p for p in entry_problems(entry, [], set(), from_report=False) if REFUSED in p] == []


def test_the_admin_form_refuses_a_javascript_link_and_keeps_the_input(signed_in, kb_url):
    wang = signed_in("wang")
    page = wang.get("/admin/entry/edit/elder_allowance")
    values = {k: v for k, v in form_values(page.text).items() if k != "csrf_token"}
    values.update(link_zh="javascript:alert(document.cookie)", save="Save")
    response = wang.post("/admin/entry/edit/elder_allowance", values)
    assert response.status_code == 400
    assert REFUSED in response.text and "链接" in response.text
    assert 'value="javascript:alert(document.cookie)"' in response.text  # kept for correcting, as text
    assert _entry(kb_url).link_zh is None
    with session_factory(kb_url)() as session:
        assert len(session.scalars(select(Revision).where(Revision.entry_id == "elder_allowance")).all()) == 1


def test_the_admin_form_saves_an_https_link(signed_in, kb_url):
    wang = signed_in("wang")
    values = {k: v for k, v in form_values(wang.get("/admin/entry/edit/elder_allowance").text).items()}
    values.pop("csrf_token", None)
    values.update(link_zh="https://zwfw.jiangsu.gov.cn/", save="Save")
    assert wang.post("/admin/entry/edit/elder_allowance", values).status_code == 302
    assert _entry(kb_url).link_zh == "https://zwfw.jiangsu.gov.cn/"
