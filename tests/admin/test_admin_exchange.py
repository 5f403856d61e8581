"""YAML export and import: a round trip loses nothing; a dry run shows the differences; all or nothing; the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot import settings
from kb.__main__ import main
from kb.build import build
from kb.db import create_schema, session_factory
from kb.edits import add_staff_fact, attach_question, create_entry, retire_entry, update_entry, update_fact
from kb.exchange import export_entries, export_yaml, import_yaml
from kb.models import Entry, Revision, StaffUser, UnansweredQuestion
from kb.users import authenticate

NEW_ENTRY = {
    "id": "flu_vaccine",
    "topic": "health",
    "title": {"zh": "流感疫苗接种", "en": "Flu vaccination"},
    "summary": {"zh": "镇卫生院为居民接种流感疫苗。", "en": "The town health centre gives residents flu shots."},
    "aliases": {"zh": ["打流感针"], "en": ["flu shot"]},
    "related": ["elder_allowance"],
    "staff": {"phone": {"zh": "0512-52519999", "en": None}},
}


def _staff_changes(url: str) -> None:
    """Every kind of change staff make, so the round trip has something to lose."""
    with session_factory(url)() as session, session.begin():
        update_entry(session, "elder_allowance", {"staff": {"hours": {"zh": "周一至周五", "en": "Mon-Fri"}}}, 1, "wang")
        add_staff_fact(session, "elder_allowance", {"zh": "每月10日发放。", "en": "Paid on the 10th."}, "wang")
        fact = next(f for f in session.get(Entry, "day_care_centres").facts if f.key == "total")
        update_fact(
            session,
            fact.id,
            {
                "figure": "32处",
                "zh": "截至2023年,累计建设日间照料中心32处。",
                "figure_en": "32",
                "en": "By 2023 Zhitang had built 32 day care centres in total.",
            },
            1,
            "zhao",
        )
        retire_entry(session, "sports_park", 1, "wang")
        create_entry(session, NEW_ENTRY, "wang")
        session.add(UnansweredQuestion(text="老人那笔钱叫啥", lang="zh"))
        session.flush()
        attach_question(session, session.scalar(select(UnansweredQuestion.id)), "elder_allowance", "wang")


def _content(items: list[dict]) -> list[dict]:
    """Entries without the bookkeeping that an import rightly renews (revision, who/when of the entry)."""
    return [{k: v for k, v in item.items() if k != "meta"} | {"source": item["meta"]["source"]} for item in items]


def test_export_import_round_trip_loses_nothing(kb_url, tmp_path: Path, entries, report_text):
    _staff_changes(kb_url)
    with session_factory(kb_url)() as session:
        text = export_yaml(session)
        exported = export_entries(session)
    assert text.startswith("# Zhitang Assistant knowledge base")
    assert yaml.safe_load(text) == exported
    elder = next(e for e in exported if e["id"] == "elder_allowance")
    staff_fact = next(f for f in elder["facts"] if f.get("source") == "staff")
    assert staff_fact["created_by"] == "wang" and staff_fact["created_at"]
    assert next(e for e in exported if e["id"] == "sports_park")["retired"] is True

    # Into a fresh KB built from the report source (another database: its revision numbers differ, so the
    # check against changes since the export is skipped); afterwards it holds exactly what was exported.
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    create_schema(fresh)
    with session_factory(fresh)() as session, session.begin():
        build(session, entries, report_text)
    with session_factory(fresh)() as session, session.begin():
        assert import_yaml(session, text, "importer").ids("conflict")  # without force: refused
        report = import_yaml(session, text, "importer", force=True)
    assert report.applied and report.ok
    assert report.ids("create") == ["flu_vaccine"]
    assert set(report.ids("update")) == {"elder_allowance", "day_care_centres", "sports_park"}
    with session_factory(fresh)() as session:
        again = export_entries(session)
        assert _content(again) == _content(exported)
        new = session.get(Entry, "flu_vaccine")
        assert (new.source, new.staff_edited) == ("staff", True)
        converted = next(f for f in session.get(Entry, "day_care_centres").facts if f.key == "total")
        assert (converted.source, converted.created_by, converted.quote) == ("staff", "zhao", None)
        assert session.scalars(select(Revision.action).where(Revision.entry_id == "elder_allowance")).all()[-1] == (
            "import"
        )

    # Importing the same file again changes nothing.
    with session_factory(fresh)() as session:
        report = import_yaml(session, export_yaml(session), "importer", dry_run=True)
    assert report.ok and report.ids("create") == report.ids("update") == []


def test_a_dry_run_shows_the_differences_and_changes_nothing(kb_url):
    with session_factory(kb_url)() as session:
        data = yaml.safe_load(export_yaml(session))
    elder = next(e for e in data if e["id"] == "elder_allowance")
    elder["staff"]["phone"] = {"zh": "0512-52510000", "en": "+86 512 5251 0000"}
    elder["aliases"]["zh"].append("老年补助")
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    with session_factory(kb_url)() as session, session.begin():
        report = import_yaml(session, text, "wang", dry_run=True)
    assert not report.applied and report.ok
    assert report.ids("update") == ["elder_allowance"]
    changes = {
        c.path: (c.before, c.after) for c in report.items[[i.id for i in report.items].index("elder_allowance")].changes
    }
    assert changes["staff.phone.zh"] == (None, "0512-52510000")
    assert changes["aliases.zh"][1][-1] == "老年补助"
    assert "staff.phone.zh: (empty) → 0512-52510000" in str(report)
    with session_factory(kb_url)() as session:
        assert session.get(Entry, "elder_allowance").phone_zh is None
    with session_factory(kb_url)() as session, session.begin():
        assert import_yaml(session, text, "wang").applied
    with session_factory(kb_url)() as session:
        entry = session.get(Entry, "elder_allowance")
        assert (entry.phone_zh, entry.updated_by, entry.revision) == ("0512-52510000", "wang", 2)


def test_an_entry_changed_since_the_export_is_a_conflict_and_nothing_is_imported(kb_url):
    with session_factory(kb_url)() as session:
        data = yaml.safe_load(export_yaml(session))
    for item in data:
        if item["id"] in ("elder_allowance", "day_care_centres"):
            item["staff"]["phone"] = {"zh": "0512-1", "en": None}
    with session_factory(kb_url)() as session, session.begin():
        update_entry(session, "elder_allowance", {"staff": {"hours": {"zh": "全天", "en": "All day"}}}, 1, "zhao")
    with session_factory(kb_url)() as session, session.begin():
        report = import_yaml(session, yaml.safe_dump(data, allow_unicode=True), "wang")
    assert not report.applied and not report.ok
    assert report.ids("conflict") == ["elder_allowance"] and report.ids("update") == ["day_care_centres"]
    assert "zhao" in str(report)
    with session_factory(kb_url)() as session:
        assert session.get(Entry, "day_care_centres").phone_zh is None  # all or nothing
        assert session.get(Entry, "elder_allowance").hours_zh == "全天"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("not: [valid", "YAML"),
        ("- {title: x}", "id"),
        (
            "- id: elder_allowance\n  topic: elder_care\n  title: {zh: 尊老金, en: ''}\n  summary: {zh: a, en: b}",
            "title",
        ),
    ],
)
def test_a_bad_file_is_refused_whole(kb_url, text, problem):
    with session_factory(kb_url)() as session, session.begin():
        report = import_yaml(session, text, "wang")
    assert not report.applied and not report.ok
    assert problem in str(report)
    with session_factory(kb_url)() as session:
        assert session.get(Entry, "elder_allowance").revision == 1


def test_cli_export_and_import_dry_run(kb_url, tmp_path: Path, capsys):
    out = tmp_path / "kb.yml"
    assert main(["export", "--out", str(out)]) == 0
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert {e["id"] for e in data} >= {"elder_allowance", "sports_park"}
    next(e for e in data if e["id"] == "elder_allowance")["staff"]["hours"] = {"zh": "周一至周五", "en": "Mon-Fri"}
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["import", str(out), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "elder_allowance: update" in printed and "staff.hours.zh: (empty) → 周一至周五" in printed
    assert "dry run, nothing changed" in printed
    with session_factory(kb_url)() as session:
        assert session.get(Entry, "elder_allowance").hours_zh is None
    assert main(["import", str(out), "--user", "reviewer"]) == 0
    with session_factory(kb_url)() as session:
        entry = session.get(Entry, "elder_allowance")
        assert (entry.hours_zh, entry.updated_by) == ("周一至周五", "reviewer")
    assert main(["export"]) == 0
    assert "周一至周五" in capsys.readouterr().out


def test_cli_creates_users_and_the_first_admin(kb_url, monkeypatch, capsys):
    monkeypatch.setenv("NEW_PW", "a-long-password")
    assert main(["create-user", "wang", "--role", "editor", "--password-env", "NEW_PW"]) == 0
    assert main(["create-user", "wang", "--role", "editor", "--password-env", "NEW_PW"]) == 2  # name taken
    monkeypatch.setattr(settings, "ADMIN_USER", "")
    monkeypatch.setattr(settings, "ADMIN_PASSWORD", "")
    assert main(["ensure-admin"]) == 0
    assert "ZHITANG_ADMIN_USER" in capsys.readouterr().err
    monkeypatch.setattr(settings, "ADMIN_USER", "boss")
    monkeypatch.setattr(settings, "ADMIN_PASSWORD", "boss-password-1")
    assert main(["ensure-admin"]) == 0
    assert main(["ensure-admin"]) == 0  # an admin exists: nothing more
    assert "an admin exists already" in capsys.readouterr().out
    with session_factory(kb_url)() as session, session.begin():
        assert authenticate(session, "boss", "boss-password-1").role == "admin"
        assert authenticate(session, "wang", "a-long-password").role == "editor"
        assert len(session.scalars(select(StaffUser)).all()) == 2
    monkeypatch.setenv("SHORT_PW", "short")
    assert main(["create-user", "li", "--role", "viewer", "--password-env", "SHORT_PW"]) == 2


def test_import_and_export_pages(signed_in, kb_url):
    wang = signed_in("wang")
    assert "Download YAML" in wang.get("/admin/exchange").text
    download = wang.get("/admin/exchange/export.yml")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    data = yaml.safe_load(download.text)
    next(e for e in data if e["id"] == "elder_allowance")["staff"]["hours"] = {"zh": "周一至周五", "en": "Mon-Fri"}
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    token = wang.token("/admin/exchange")
    response = wang.http.post(
        "/admin/exchange/import-yaml",
        data={"csrf_token": token},
        files={"file": ("kb.yml", text.encode("utf-8"), "application/x-yaml")},
    )
    assert response.status_code == 200
    assert "周一至周五" in response.text and 'id="apply"' in response.text
    with session_factory(kb_url)() as session:
        assert session.get(Entry, "elder_allowance").hours_zh is None  # a dry run
    response = wang.post("/admin/exchange/import-yaml", {"text": text, "apply": "1"})
    assert response.status_code == 303
    with session_factory(kb_url)() as session:
        assert session.get(Entry, "elder_allowance").hours_zh == "周一至周五"
    viewer_page = signed_in("li").get("/admin/exchange").text
    assert "Download YAML" in viewer_page and 'id="dry-run"' not in viewer_page
