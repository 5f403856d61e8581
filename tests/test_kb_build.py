"""Building the KB from YAML: creates, keeps unchanged, updates with history, keeps staff edits, retires."""

from __future__ import annotations

import copy
from pathlib import Path

from sqlalchemy import select

from kb.build import build
from kb.db import create_schema, session_factory
from kb.models import BUILD_USER, Entry, Fact, Revision
from kb.queries import active_entries, kb_version
from kb.source import report_sentences


def _entry(entries, eid):
    return next(e for e in entries if e["id"] == eid)


def _revisions(session, eid):
    return list(session.scalars(select(Revision).where(Revision.entry_id == eid).order_by(Revision.id)))


def test_build_creates_every_entry_with_a_create_revision(kb_url, entries):
    with session_factory(kb_url)() as session:
        rows = {e.id: e for e in session.scalars(select(Entry))}
        assert set(rows) == {e["id"] for e in entries}
        for eid, row in rows.items():
            assert row.revision == 1, eid
            assert not row.retired and not row.staff_edited and row.source == "report"
            assert row.updated_by == BUILD_USER
            revs = _revisions(session, eid)
            assert [(r.action, r.revision, r.changed_by) for r in revs] == [("create", 1, BUILD_USER)]
            assert revs[0].before is None
            assert revs[0].after["id"] == eid
            assert [f["key"] for f in revs[0].after["facts"]] == [f["key"] for f in _entry(entries, eid)["facts"]]
        elder = rows["elder_allowance"]
        assert [(f.key, f.figure) for f in elder.facts] == [("amount", "1428.35万元"), ("beneficiaries", "21389人")]


def test_build_on_empty_db_reports_all_created(tmp_path: Path, entries, report_text):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    create_schema(url)
    with session_factory(url)() as session, session.begin():
        assert kb_version(session) == 0
        result = build(session, entries, report_text)
    assert sorted(result.created) == sorted(e["id"] for e in entries)
    assert result.updated == result.unchanged == result.kept_staff_edit == result.retired == []
    with session_factory(url)() as session:
        assert kb_version(session) == 1


def test_rebuild_unchanged_source_changes_nothing(kb_url, entries, report_text):
    with session_factory(kb_url)() as session, session.begin():
        revisions_before = session.scalar(select(Revision.id).order_by(Revision.id.desc()).limit(1))
        result = build(session, entries, report_text)
    assert sorted(result.unchanged) == sorted(e["id"] for e in entries)
    assert result.created == result.updated == result.kept_staff_edit == result.retired == []
    with session_factory(kb_url)() as session:
        assert session.scalar(select(Revision.id).order_by(Revision.id.desc()).limit(1)) == revisions_before
        assert set(session.scalars(select(Entry.revision))) == {1}


def test_changed_fact_updates_entry_with_history(kb_url, entries, report_text):
    changed = copy.deepcopy(entries)
    fact = _entry(changed, "elder_allowance")["facts"][0]
    old_zh = fact["zh"]
    fact["zh"] = "2022年，支塘镇共发放尊老金1428.35万元。"
    fact["keywords"]["zh"].append("一共发了多少")
    _entry(changed, "elder_allowance")["summary"]["en"] = "The allowance Zhitang pays to its senior residents."
    with session_factory(kb_url)() as session, session.begin():
        result = build(session, changed, report_text, user="reviewer")
    assert result.updated == ["elder_allowance"]
    assert "elder_allowance" not in result.unchanged
    with session_factory(kb_url)() as session:
        row = session.get(Entry, "elder_allowance")
        assert row.revision == 2
        assert row.updated_by == "reviewer"
        assert row.facts[0].text_zh == "2022年，支塘镇共发放尊老金1428.35万元。"
        assert "一共发了多少" in row.facts[0].keywords_zh
        assert row.summary_en == "The allowance Zhitang pays to its senior residents."
        assert [f.key for f in row.facts] == ["amount", "beneficiaries"]
        revs = _revisions(session, "elder_allowance")
        assert [(r.action, r.revision) for r in revs] == [("create", 1), ("update", 2)]
        update = revs[-1]
        assert update.changed_by == "reviewer"
        assert update.before["facts"][0]["zh"] == old_zh
        assert update.after["facts"][0]["zh"] == "2022年，支塘镇共发放尊老金1428.35万元。"
        # Other entries were not touched.
        assert session.get(Entry, "medical_reimbursement").revision == 1


def test_rebuild_keeps_a_staff_edit(kb_url, entries, report_text):
    with session_factory(kb_url)() as session, session.begin():
        row = session.get(Entry, "service_centre")
        row.hours_zh = "周一至周五 8:30-17:00"
        row.staff_edited = True
        row.updated_by = "alice"
    changed = copy.deepcopy(entries)
    _entry(changed, "service_centre")["facts"][0]["zh"] = "改过的文本126095件。"
    with session_factory(kb_url)() as session, session.begin():
        result = build(session, changed, report_text)
    assert result.kept_staff_edit == ["service_centre"]
    assert "service_centre" not in result.updated + result.unchanged + result.retired
    with session_factory(kb_url)() as session:
        row = session.get(Entry, "service_centre")
        assert row.hours_zh == "周一至周五 8:30-17:00"
        assert row.updated_by == "alice"
        assert row.staff_edited is True
        assert row.revision == 2  # the staff edit only
        assert row.facts[0].text_zh == _entry(entries, "service_centre")["facts"][0]["zh"]
        assert [r.action for r in _revisions(session, "service_centre")] == ["create"]


def test_entry_removed_from_yaml_is_retired_not_deleted(kb_url, entries, report_text):
    remaining = [e for e in entries if e["id"] != "summer_day_camp"]
    with session_factory(kb_url)() as session, session.begin():
        result = build(session, remaining, report_text)
    assert result.retired == ["summer_day_camp"]
    with session_factory(kb_url)() as session:
        row = session.get(Entry, "summer_day_camp")
        assert row is not None and row.retired is True
        assert row.facts, "facts of a retired entry are kept"
        assert [r.action for r in _revisions(session, "summer_day_camp")] == ["create", "retire"]
        active = {e["id"] for e in active_entries(session)}
        assert "summer_day_camp" not in active
        assert active == {e["id"] for e in remaining}


def test_staff_edited_entry_removed_from_yaml_is_not_retired(kb_url, entries, report_text):
    with session_factory(kb_url)() as session, session.begin():
        session.get(Entry, "summer_day_camp").staff_edited = True
    remaining = [e for e in entries if e["id"] != "summer_day_camp"]
    with session_factory(kb_url)() as session, session.begin():
        result = build(session, remaining, report_text)
    assert result.retired == []
    with session_factory(kb_url)() as session:
        assert session.get(Entry, "summer_day_camp").retired is False


def test_every_report_fact_has_its_sentence(kb_url, report_text):
    sentences = report_sentences(report_text)
    with session_factory(kb_url)() as session:
        facts = list(session.scalars(select(Fact).where(Fact.source == "report")))
    assert len(facts) >= 40
    for fact in facts:
        assert fact.quote, (fact.entry_id, fact.key)
        assert fact.sentence, (fact.entry_id, fact.key)
        assert fact.sentence in sentences, (fact.entry_id, fact.key)
        assert fact.sentence in report_text
        assert fact.quote in fact.sentence


def test_kb_version_moves_after_a_build(kb_url, entries, report_text):
    with session_factory(kb_url)() as session:
        before = kb_version(session)
    assert before == 1
    with session_factory(kb_url)() as session, session.begin():
        build(session, entries, report_text)
    with session_factory(kb_url)() as session:
        assert kb_version(session) == before + 1
