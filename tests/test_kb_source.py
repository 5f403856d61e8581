"""The YAML source is checked against the report; a broken entry must be refused with a precise reason."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import settings
from kb.shape import FACT_KINDS, STAFF_FIELD_NAMES
from kb.source import SourceError, load_checked, report_sentences, validate
from kb.text import has_cjk


def test_real_source_validates_clean(entries, report_text):
    assert validate(entries, report_text) == []
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids)) >= 40
    assert {"elder_allowance", "medical_reimbursement", "legal_consultation", "service_centre"} <= set(ids)


def test_load_checked_returns_entries_and_report(report_text):
    loaded, report = load_checked(settings.ENTRIES_DIR, settings.REPORT_PATH)
    assert report == report_text
    sentences = report_sentences(report)
    for entry in loaded:
        assert entry["facts"], entry["id"]
        for fact in entry["facts"]:
            assert any(fact["quote"] in s for s in sentences), (entry["id"], fact["key"])
            assert not has_cjk(fact["en"]), (entry["id"], fact["key"])


def _elder(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in entries if e["id"] == "elder_allowance")


def _amount(entry: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in entry["facts"] if f["key"] == "amount")


def quote_one_char_changed(entries):
    fact = _amount(_elder(entries))
    assert fact["quote"] == "发放尊老金1428.35万元"
    fact["quote"] = "发出尊老金1428.35万元"  # 放 -> 出: figure still in the quote, quote no longer verbatim


def figure_not_in_quote(entries):
    _amount(_elder(entries))["quote"] = "受益老人21389人"  # verbatim, but not the quote of 1428.35万元


def figure_not_in_zh(entries):
    _amount(_elder(entries))["zh"] = "2022年，支塘镇发放尊老金一千四百多万元。"


def figure_en_not_in_en(entries):
    _amount(_elder(entries))["en"] = "In 2022 Zhitang paid RMB 14.28 million in elder allowance."


def chinese_in_fact_en(entries):
    _amount(_elder(entries))["en"] = "In 2022 Zhitang paid RMB 14.2835 million in 尊老金."


def chinese_in_title_en(entries):
    _elder(entries)["title"]["en"] = "Elder allowance (尊老金)"


def chinese_in_alias_en(entries):
    _elder(entries)["aliases"]["en"].append("zunlao 金")


def duplicate_id(entries):
    entries.append(copy.deepcopy(_elder(entries)))


def unknown_related(entries):
    _elder(entries)["related"].append("no_such_entry")


def unknown_staff_field(entries):
    _elder(entries)["staff"] = {"fax": {"zh": "0512-1234567", "en": "0512-1234567"}}


def unknown_fact_kind(entries):
    _amount(_elder(entries))["kind"] = "money"


BROKEN: list[tuple[Callable[[list[dict[str, Any]]], None], str]] = [
    (quote_one_char_changed, "elder_allowance.amount: quote is not verbatim in the report: '发出尊老金1428.35万元'"),
    (figure_not_in_quote, "elder_allowance.amount: figure '1428.35万元' is not in its quote"),
    (figure_not_in_zh, "elder_allowance.amount: figure '1428.35万元' is not in the zh text"),
    (figure_en_not_in_en, "elder_allowance.amount: figure_en '14.2835 million' is not in the en text"),
    (chinese_in_fact_en, "elder_allowance: English text holds Chinese characters"),
    (chinese_in_title_en, "elder_allowance: English text holds Chinese characters"),
    (chinese_in_alias_en, "elder_allowance: English text holds Chinese characters"),
    (duplicate_id, "elder_allowance: duplicate id"),
    (unknown_related, "elder_allowance: related id 'no_such_entry' does not exist"),
    (unknown_staff_field, "elder_allowance: unknown staff field 'fax'"),
    (unknown_fact_kind, f"elder_allowance.amount: kind must be one of {sorted(FACT_KINDS)}"),
]


@pytest.mark.parametrize("breaker, message", BROKEN, ids=[b.__name__ for b, _ in BROKEN])
def test_validate_reports_the_broken_rule(entries, report_text, breaker, message):
    broken = copy.deepcopy(entries)
    breaker(broken)
    problems = validate(broken, report_text)
    assert problems, "the broken source was accepted"
    assert any(p.startswith(message) for p in problems), problems
    # Only the one thing that was broken is reported.
    assert all(p.startswith(message) for p in problems), problems


@pytest.mark.parametrize("breaker, message", BROKEN, ids=[b.__name__ for b, _ in BROKEN])
def test_load_checked_refuses_broken_source(tmp_path: Path, entries, breaker, message):
    broken = copy.deepcopy(entries)
    breaker(broken)
    entries_dir = tmp_path / "entries"
    entries_dir.mkdir()
    (entries_dir / "all.yml").write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SourceError) as err:
        load_checked(entries_dir, settings.REPORT_PATH)
    assert "refused" in str(err.value)
    assert message in str(err.value)


def test_written_copy_of_real_source_is_accepted(tmp_path: Path, entries):
    """The round trip used above does not by itself break anything."""
    entries_dir = tmp_path / "entries"
    entries_dir.mkdir()
    (entries_dir / "all.yml").write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    loaded, _ = load_checked(entries_dir, settings.REPORT_PATH)
    assert [e["id"] for e in loaded] == [e["id"] for e in entries]


def test_staff_fields_of_the_format_are_accepted(entries, report_text):
    fixed = copy.deepcopy(entries)
    _elder(fixed)["staff"] = {name: {"zh": "某", "en": "x"} for name in STAFF_FIELD_NAMES}
    _elder(fixed)["staff"]["link"] = {"zh": "https://zwfw.example.gov.cn/", "en": "https://zwfw.example.gov.cn/en"}
    assert validate(fixed, report_text) == []
