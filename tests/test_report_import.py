"""A new year's report (kb/reports.py): proposals checked against a hand-written key, nothing changed until a
staff member accepts, each acceptance a revision, quotes checked against their own report, and the answers
changed at the next question. The report is tests/fixtures/made-up-test-report-2023.txt: a MADE-UP fixture."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from actions.answering import answer_question
from kb.__main__ import main
from kb.db import session_factory
from kb.edits import StaffError, update_entry
from kb.index_cache import current_index
from kb.models import Fact, Report, ReportSentence, Revision
from kb.queries import kb_version
from kb.reports import accept, accept_updates, propose, split_sentences

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPORT = FIXTURES / "made-up-test-report-2023.txt"
KEY = FIXTURES / "made-up-test-report-2023.key.yml"
YEAR = 2023  # the made-up fixture's year
TODAY = date(2026, 12, 1)


@pytest.fixture
def text() -> str:
    return REPORT.read_text(encoding="utf-8")


def _plan(kb_url: str, text: str, year: int = YEAR):
    with session_factory(kb_url)() as session:
        return propose(session, text, year)


def _in_key(quote: str, keyed: str) -> bool:
    """A proposal's quote matches a key's when one holds the other (a clause may carry its lead-in)."""
    return keyed in quote or quote in keyed


def test_the_fixture_says_it_is_made_up():
    assert "MADE-UP TEST FIXTURE" in REPORT.read_text(encoding="utf-8").splitlines()[0]
    assert "made-up" in REPORT.name and "made-up" in KEY.name.lower()


@pytest.mark.parametrize(
    "name, year, floor",
    [
        # The fixture written with the importer (its figures in the 2022 report's words): every kind of proposal.
        ("made-up-test-report-2023", 2023, {"precision": 0.9, "recall": 0.9, "update_precision": 0.95, "update_recall": 0.9}),
        # Reworded on purpose, its key written before the importer first ran on it (it measured 0.86 / 0.90, and
        # updates 1.00 / 0.90: a changed phrasing is missed, proposed as a new fact or entry, rather than misplaced).
        ("made-up-test-report-2024-reworded", 2024, {"precision": 0.8, "recall": 0.85, "update_precision": 0.95, "update_recall": 0.85}),
    ],
)  # fmt: skip
def test_proposals_match_the_hand_written_key(kb_url, name, year, floor, capsys):
    key = yaml.safe_load((FIXTURES / f"{name}.key.yml").read_text(encoding="utf-8"))
    plan = _plan(kb_url, (FIXTURES / f"{name}.txt").read_text(encoding="utf-8"), year)
    expected = [("update", q, target) for q, target in key["updates"].items()]
    expected += [("new_fact", q, eid) for q, eid in (key["new_facts"] or {}).items()]
    expected += [("new_entry", q, None) for q in key["new_entries"]]
    found = []
    for p in plan.proposals:
        target = f"{p.entry_id}.{p.fact_key}" if p.kind == "update" else p.entry_id
        found.append((p.kind, p.quote, target))
    right = [f for f in found if any(f[0] == e[0] and f[2] == e[2] and _in_key(f[1], e[1]) for e in expected)]
    hit = [e for e in expected if any(f[0] == e[0] and f[2] == e[2] and _in_key(f[1], e[1]) for f in found)]
    updates = [f for f in found if f[0] == "update"]
    measured = {
        "precision": len(right) / len(found),
        "recall": len(hit) / len(expected),
        "update_precision": sum(f in right for f in updates) / len(updates),
        "update_recall": sum(e in hit for e in expected if e[0] == "update") / len(key["updates"]),
    }
    with capsys.disabled():
        print(
            f"\n{name} vs its key: precision {measured['precision']:.2f} ({len(right)}/{len(found)}), recall "
            f"{measured['recall']:.2f} ({len(hit)}/{len(expected)}); updates alone: precision "
            f"{measured['update_precision']:.2f}, recall {measured['update_recall']:.2f}"
        )
    assert all(measured[k] >= floor[k] for k in floor), measured
    assert not any(bad in p.quote for p in plan.proposals for bad in ("12.5亿元", "12.6公里"))  # not for residents


def test_every_proposal_quotes_the_report_verbatim_and_its_figure_is_in_the_quote(kb_url, text):
    plan = _plan(kb_url, text)
    sentences = split_sentences(text)
    for p in plan.proposals:
        assert p.sentence in sentences and p.quote in p.sentence and p.figure in p.quote
        assert p.fact is not None and p.fact["figure"] in p.fact["quote"] and p.fact["figure"] in p.fact["zh"]
        before, figure, after = p.highlighted()
        assert before + figure + after == p.sentence and figure == p.figure


def test_an_update_shows_the_old_fact_beside_the_new_sentence(kb_url, text):
    plan = _plan(kb_url, text)
    update = next(p for p in plan.of_kind("update") if p.entry_id == "elder_allowance" and p.fact_key == "amount")
    assert update.old["figure"] == "1428.35万元" and update.old["report"] == 2022
    assert update.figure == "1502.6万元" and "尊老金" in update.sentence
    assert update.fact["zh"] == "2023年，支塘镇发放尊老金1502.6万元。"
    assert update.fact["en"] == "In 2023 Zhitang paid RMB 15.026 million in elder allowance."
    assert update.fact["figure_en"] == "15.026 million" and update.fact["report"] == YEAR


def test_proposing_changes_nothing(kb_url, text):
    with session_factory(kb_url)() as session:
        before = (
            kb_version(session),
            session.scalar(select(func.count(Fact.id))),
            session.scalar(select(func.count(Revision.id))),
        )
        propose(session, text, YEAR)
        session.commit()
        after = (
            kb_version(session),
            session.scalar(select(func.count(Fact.id))),
            session.scalar(select(func.count(Revision.id))),
        )
        assert before == after
        assert session.scalar(select(Report).where(Report.year == YEAR)) is None


def test_accepting_an_update_writes_one_revision_and_keeps_the_old_year(kb_url, text):
    plan = _plan(kb_url, text)
    update = next(p for p in plan.of_kind("update") if p.entry_id == "elder_allowance" and p.fact_key == "amount")
    with session_factory(kb_url)() as session, session.begin():
        accept(session, plan, update.id, "wang")
    with session_factory(kb_url)() as session:
        revision = session.scalars(
            select(Revision).where(Revision.entry_id == "elder_allowance").order_by(Revision.id.desc())
        ).first()
        assert revision.action == "report" and revision.changed_by == "wang"
        facts = {f.key: f for f in session.scalars(select(Fact).where(Fact.entry_id == "elder_allowance"))}
        assert facts["amount"].report_year == 2022 and facts["amount"].figure == "1428.35万元"
        new = facts["amount_2023"]
        assert new.report_year == YEAR and new.series == "amount" and new.quote in new.sentence
        report = session.scalar(select(Report).where(Report.year == YEAR))
        assert report.added_by == "wang" and report.title_zh == "2023年支塘镇政府工作报告"
        assert session.scalar(select(func.count(ReportSentence.id)).where(ReportSentence.report_year == YEAR)) > 10
    assert update.id not in {p.id for p in _plan(kb_url, text).proposals}  # accepted: proposed no more


def test_accepted_updates_change_the_answers_at_once_without_retraining(kb_url, text):
    def ask(question, lang="zh", topic=None, fact=None):
        return answer_question(question, lang, current_index(kb_url), None, 0.0, [], topic, today=TODAY, fact=fact)

    assert "1428.35万元" in ask("尊老金发了多少钱").text
    with session_factory(kb_url)() as session, session.begin():
        accepted, left = accept_updates(session, propose(session, text, YEAR), "cli:test")
    assert len(accepted) >= 25
    first = ask("尊老金发了多少钱")
    assert first.text.startswith("2023年，支塘镇发放尊老金1502.6万元。") and first.source["report"]["zh"].startswith(
        "2023"
    )
    assert "1428.35万元" in ask("去年呢", topic=first.entry_id, fact=first.fact_key).text
    english = ask("How much elder allowance was paid?", "en")
    assert "15.026 million" in english.text and "2023" in english.text


def test_a_quote_is_checked_against_its_own_report(kb_url, text):
    plan = _plan(kb_url, text)
    with session_factory(kb_url)() as session, session.begin():
        accept(session, plan, plan.of_kind("update")[0].id, "wang")  # the report is stored
    with session_factory(kb_url)() as session:
        entry_facts = [
            {"key": "amount", "kind": "amount", "figure": "1428.35万元", "figure_en": "14.2835 million",
             "zh": "2022年，支塘镇发放尊老金1428.35万元。", "en": "In 2022 Zhitang paid RMB 14.2835 million in elder allowance.",
             "keywords": {"zh": [], "en": []}, "quote": "发放尊老金1428.35万元", "report": YEAR},
        ]  # fmt: skip
        with pytest.raises(StaffError, match="not verbatim"):
            update_entry(session, "elder_allowance", {"facts": entry_facts}, None, "wang")
        entry_facts[0]["report"] = 1999
        with pytest.raises(StaffError, match="no report of the year"):
            update_entry(session, "elder_allowance", {"facts": entry_facts}, None, "wang")


def test_a_new_fact_needs_its_english_written_by_staff(kb_url, text):
    plan = _plan(kb_url, text)
    new = next(p for p in plan.of_kind("new_fact") if p.entry_id == "elder_allowance")
    assert new.needs_english
    with session_factory(kb_url)() as session, session.begin(), pytest.raises(StaffError, match="English"):
        accept(session, plan, new.id, "wang")
    with session_factory(kb_url)() as session, session.begin():
        accept(
            session,
            plan,
            new.id,
            "wang",
            en="In 2023 the allowance for those 80 and over rose to 150 yuan a month.",
            figure_en="150",
        )
    with session_factory(kb_url)() as session:
        fact = session.scalar(select(Fact).where(Fact.entry_id == "elder_allowance", Fact.figure == "150元"))
        assert fact.report_year == YEAR and fact.quote == new.quote and fact.source == "report"


def test_a_candidate_new_entry_becomes_an_entry_when_staff_name_it(kb_url, text):
    plan = _plan(kb_url, text)
    candidate = next(p for p in plan.of_kind("new_entry") if "流感疫苗" in p.quote)
    entry = {"topic": "health", "title": {"zh": "流感疫苗接种", "en": "Flu vaccination"},
             "summary": {"zh": "为老人免费接种流感疫苗。", "en": "Free flu vaccination for seniors."}}  # fmt: skip
    with session_factory(kb_url)() as session, session.begin():
        made = accept(
            session,
            plan,
            candidate.id,
            "wang",
            en="In 2023, 8600 flu vaccinations were given to seniors.",
            figure_en="8600",
            entry=entry,
        )
        eid = made.id
    reply = answer_question("流感疫苗接种", "zh", current_index(kb_url), None, 0.0, [], None, today=TODAY)
    assert reply.entry_id == eid and "8600人次" in reply.text


def test_another_text_for_a_year_already_in_the_kb_is_refused(kb_url, text):
    plan = _plan(kb_url, text)
    with session_factory(kb_url)() as session, session.begin():
        accept(session, plan, plan.of_kind("update")[0].id, "wang")
    with session_factory(kb_url)() as session, pytest.raises(StaffError, match="another report"):
        propose(session, text + "\n另一句话。", YEAR)
    with session_factory(kb_url)() as session, pytest.raises(StaffError, match="empty"):
        propose(session, "  \n ", YEAR)


def test_the_command_line_lists_proposals_and_changes_nothing_unless_told(kb_url, capsys):
    assert main(["report-import", str(REPORT), "--year", str(YEAR)]) == 0
    out = capsys.readouterr().out
    assert "elder_allowance.amount" in out and "【1502.6万元】" in out and "nothing changed" in out
    with session_factory(kb_url)() as session:
        assert session.scalar(select(Report).where(Report.year == YEAR)) is None
    assert main(["report-import", str(REPORT), "--year", str(YEAR), "--accept", "updates", "--user", "cli:clerk"]) == 0
    assert "accepted" in capsys.readouterr().out
    with session_factory(kb_url)() as session:
        users = set(session.scalars(select(Revision.changed_by).where(Revision.action == "report")))
        assert users == {"cli:clerk"}
    with pytest.raises(SystemExit):
        main(["report-import", str(REPORT), "--year", "nonsense"])


def test_the_command_line_refuses_a_file_that_is_not_text(kb_url, tmp_path, capsys):
    binary = tmp_path / "report.txt"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    assert main(["report-import", str(binary), "--year", str(YEAR)]) == 2
    assert "UTF-8" in capsys.readouterr().err


def test_a_made_up_report_is_said_to_be_one_and_a_real_one_is_not(kb_url, capsys):
    with session_factory(kb_url)() as session:
        assert propose(session, REPORT.read_text(encoding="utf-8"), YEAR).made_up
        real = (Path(__file__).resolve().parents[1] / "kb" / "source" / "reports" / "2022.txt").read_text("utf-8")
        assert not propose(session, real, YEAR).made_up
    assert main(["report-import", str(REPORT), "--year", str(YEAR)]) == 0
    assert "made up or a test fixture" in capsys.readouterr().err
