"""The admin's import of a new year's report: review first (nothing changes), accept per proposal (a revision
under the clerk's name), refused input with a clear 4xx. The report is the MADE-UP fixture in tests/fixtures."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from kb.db import session_factory
from kb.models import Fact, Report, Revision

REPORT = Path(__file__).resolve().parent.parent / "fixtures" / "made-up-test-report-2023.txt"


def _review(wang, text: str, year: str = "2023"):
    token = wang.token("/admin/reports")
    return wang.http.post(
        "/admin/reports/review",
        data={"csrf_token": token, "year": year},
        files={"file": ("report.txt", text.encode("utf-8"), "text/plain")},
    )


def test_a_clerk_reviews_a_report_and_accepts_one_update(signed_in, kb_url):
    wang = signed_in("wang")
    assert 'id="report-form"' in wang.get("/admin/reports").text
    text = REPORT.read_text(encoding="utf-8")
    review = _review(wang, text)
    assert review.status_code == 200
    assert (
        '<mark class="new-figure">1502.6万元</mark>' in review.text
        and "2022年，支塘镇发放尊老金1428.35万元。" in review.text
    )
    with session_factory(kb_url)() as session:
        assert session.scalar(select(Report).where(Report.year == 2023)) is None  # nothing changed yet
    card = re.search(r'id="proposal-(\w+)" data-entry="elder_allowance" data-fact="amount"', review.text)
    token = wang.token("/admin/reports")
    accepted = wang.http.post(
        "/admin/reports/accept",
        data={"csrf_token": token, "year": "2023", "text": text, "accept": card.group(1)},
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert accepted.status_code == 200 and 'id="accepted"' in accepted.text
    assert f'id="proposal-{card.group(1)}"' not in accepted.text
    with session_factory(kb_url)() as session:
        fact = session.scalar(select(Fact).where(Fact.entry_id == "elder_allowance", Fact.key == "amount_2023"))
        assert fact.figure == "1502.6万元" and fact.report_year == 2023
        last = session.scalars(select(Revision).order_by(Revision.id.desc())).first()
        assert (last.entry_id, last.changed_by, last.action) == ("elder_allowance", "wang", "report")


def test_a_new_fact_without_english_is_refused_and_the_review_stays(signed_in, kb_url):
    wang = signed_in("wang")
    text = REPORT.read_text(encoding="utf-8")
    review = _review(wang, text)
    card = re.search(r'proposal-new_fact" id="proposal-(\w+)" data-entry="elder_allowance"', review.text)
    token = wang.token("/admin/reports")
    refused = wang.http.post(
        "/admin/reports/accept",
        data={"csrf_token": token, "year": "2023", "text": text, "accept": card.group(1)},
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert refused.status_code == 409 and 'id="refused"' in refused.text and "English" in refused.text
    with session_factory(kb_url)() as session:
        assert session.scalar(select(Report).where(Report.year == 2023)) is None


def test_bad_input_gets_a_clear_4xx(signed_in):
    wang = signed_in("wang")
    assert _review(wang, "", "2023").status_code == 400
    assert _review(wang, "发放尊老金1502.6万元。", "next year").status_code == 400
    token = wang.token("/admin/reports")
    odd = wang.http.post(
        "/admin/reports/review",
        data={"csrf_token": token, "year": "2023"},
        files={"file": ("report.docx", b"PK\x03\x04", "application/octet-stream")},
    )
    assert odd.status_code == 400 and ".txt" in odd.text
    viewer = signed_in("li")
    assert 'id="report-form"' not in viewer.get("/admin/reports").text
    assert (
        viewer.http.post(
            "/admin/reports/review", data={"csrf_token": viewer.token("/admin/reports"), "year": "2023", "text": "x"}
        ).status_code
        == 403
    )


def test_a_text_that_says_it_is_made_up_is_reviewed_under_a_warning(signed_in):
    wang = signed_in("wang")
    text = REPORT.read_text(encoding="utf-8")
    assert 'id="made-up"' in _review(wang, text).text  # the fixture's first line says it is invented
    banner_removed = text.split("\n", 1)[1]
    assert 'id="made-up"' not in _review(wang, banner_removed).text
