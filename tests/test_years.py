"""Answers by year (actions/years.py), in both languages: the newest year leads, an earlier year on request, a
comparison gives both quoted figures and a computed difference, a year without a report is not in the KB.

The KB here is the real 2022 build plus the updates of the MADE-UP test report (tests/fixtures), accepted as a
clerk would; the action server's own action answers too, without retraining.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from actions.answering import answer_question
from actions.service import ActionAnswerService, ActionShowSource, ActionTriageLowConfidence
from actions.years import with_year
from kb.db import session_factory
from kb.figures import difference, figures_in, parse
from kb.index_cache import current_index
from kb.reports import accept_updates, propose

REPORT = Path(__file__).resolve().parent / "fixtures" / "made-up-test-report-2023.txt"
TODAY = date(2026, 12, 1)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def two_years(kb_url: str) -> str:
    """The KB with the made-up later report's updates accepted."""
    with session_factory(kb_url)() as session, session.begin():
        accept_updates(session, propose(session, REPORT.read_text(encoding="utf-8"), 2023), "cli:test")
    return kb_url


def ask(url, text, lang="zh", topic=None, fact=None):
    return answer_question(text, lang, current_index(url), None, 0.0, [], topic, today=TODAY, fact=fact)


def test_the_newest_year_leads_labelled_with_its_year(two_years):
    zh = ask(two_years, "尊老金发了多少钱")
    assert zh.kind == "answer" and zh.text.startswith("2023年") and "1502.6万元" in zh.text and "1428.35" not in zh.text
    assert "来源：2023年支塘镇政府工作报告" in zh.text
    en = ask(two_years, "How many seniors received the elder allowance?", "en")
    assert "22016" in en.text and "2023" in en.text and "21389" not in en.text


@pytest.mark.parametrize(
    "first, follow_up, lang, old",
    [
        ("尊老金发了多少钱", "去年呢", "zh", "1428.35万元"),
        ("尊老金发了多少钱", "2022年呢", "zh", "1428.35万元"),
        ("How much elder allowance was paid?", "what about 2022?", "en", "14.2835 million"),
        ("How much elder allowance was paid?", "last year?", "en", "14.2835 million"),
        ("医保报销了多少人次", "那2022年的呢", "zh", "1293人次"),
    ],
)
def test_the_previous_year_comes_on_request(two_years, first, follow_up, lang, old):
    lead = ask(two_years, first, lang)
    reply = ask(two_years, follow_up, lang, topic=lead.entry_id, fact=lead.fact_key)
    assert reply.kind == "answer" and old in reply.text and "2022" in reply.text
    assert (
        reply.source["report"]["en"] == "Zhitang Town 2022 Government Work Report"
        and reply.source["quote"] in reply.source["sentence"]
    )


def test_the_year_before_the_previous_one_is_not_in_the_kb(two_years):
    lead = ask(two_years, "尊老金发了多少钱")
    earlier = ask(two_years, "去年呢", topic=lead.entry_id, fact=lead.fact_key)
    again = ask(two_years, "去年呢", topic=earlier.entry_id, fact=earlier.fact_key)
    assert again.kind == "year_unknown" and "2021" in again.text.split("\n")[0]


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        ("尊老金比2022年多了吗", "zh", "2023年比2022年多74.25万元"),
        ("How much more elder allowance than in 2022?", "en", "RMB 0.7425 million more in 2023 than in 2022"),
        ("尊老金比去年多了吗", "zh", "2023年比2022年多74.25万元"),
        ("领尊老金的老人比2022年多了多少人", "zh", "2023年比2022年多627人"),
        ("空气质量优良天数比率比2022年高了吗", "zh", "2023年比2022年多1.4个百分点"),
        ("Were there more good days of air quality than in 2022?", "en", "1.4 percentage points more"),
        ("矛盾纠纷调解比2022年多了吗", "zh", "2023年比2022年多37件"),
    ],
)
def test_a_comparison_gives_both_quoted_figures_and_the_computed_difference(two_years, text, lang, expected):
    reply = ask(two_years, text, lang)
    assert reply.kind == "answer" and expected in reply.text
    lines = reply.text.split("\n")
    assert "2023" in lines[0] and "2022" in lines[1]  # both figures, each with its year
    assert ("计算结果" in reply.text) if lang == "zh" else ("a calculation" in reply.text)


def test_a_comparison_in_a_conversation(two_years):
    lead = ask(two_years, "How much elder allowance was paid?", "en")
    reply = ask(two_years, "how much more than in 2022?", "en", topic=lead.entry_id, fact=lead.fact_key)
    assert "15.026 million" in reply.text and "14.2835 million" in reply.text and "0.7425 million more" in reply.text


@pytest.mark.parametrize(
    "text, lang, year",
    [("2021年尊老金发了多少", "zh", "2021"), ("How much elder allowance was paid in 2019?", "en", "2019")],
)
def test_a_year_without_a_report_is_not_in_the_kb(two_years, text, lang, year):
    reply = ask(two_years, text, lang)
    assert reply.kind == "year_unknown" and year in reply.text.split("\n")[0]
    assert "1502.6" in reply.text or "15.026" in reply.text  # then what it has, labelled with its year


def test_a_comparison_with_a_year_without_a_report_is_not_in_the_kb(two_years):
    reply = ask(two_years, "尊老金比2020年多了吗")
    assert reply.kind == "year_unknown" and "计算" not in reply.text
    assert reply.text.startswith("知识库里没有2020年的尊老金数字，只有2023、2022年的。")


def test_a_comparison_after_the_previous_year_compares_it_with_the_newest(two_years):
    lead = ask(two_years, "尊老金发了多少钱")
    earlier = ask(two_years, "去年呢", topic=lead.entry_id, fact=lead.fact_key)
    for text in ("比2022年多了吗", "增长了吗"):
        reply = ask(two_years, text, topic=earlier.entry_id, fact=earlier.fact_key)
        assert "2023年比2022年多74.25万元" in reply.text, text


def test_with_only_one_report_the_answers_stay_as_they_were(kb_url):
    reply = ask(kb_url, "尊老金比去年多了吗")
    assert reply.kind == "year_unknown" and "1428.35" in reply.text and "计算" not in reply.text
    assert ask(kb_url, "2022年尊老金发了多少").text.startswith("2022年，支塘镇发放尊老金1428.35万元。")


async def test_the_action_server_answers_by_year_after_an_acceptance(two_years, make_tracker, dispatcher, domain):
    tracker = make_tracker("2022年呢", "ask_followup", slots={"topic": "elder_allowance", "fact": "amount_2023"})
    events = await ActionAnswerService().run(dispatcher, tracker, domain)
    text = dispatcher.messages[-1]["text"]
    assert "1428.35万元" in text and "2022" in text
    assert {"event": "slot", "name": "fact", "value": "amount", "timestamp": None} in events or any(
        e.get("name") == "fact" and e.get("value") == "amount" for e in events
    )


def test_figures_and_their_differences():
    assert [f.text for f in figures_in("发放尊老金1502.6万元,惠及老人22016人,2023年,第27次,达96.5%")] == [
        "1502.6万元", "22016人", "96.5%"
    ]  # fmt: skip
    assert parse("1428.35万元").english == "14.2835 million" and parse("5.6万人次").english == "56000"
    assert [f.text for f in figures_in("受益老人21,389人,实现0.5个工作日开户90家")] == ["21,389人", "90家"]
    assert parse("21,389人").number == 21389
    change = difference("1502.6万元", "1428.35万元")
    assert (change.zh, change.en, change.kind) == ("74.25万元", "0.7425 million", "amount")
    assert difference("30余万元", "20万元") is None and difference("3处", "3人") is None
    assert with_year("支塘镇发放尊老金1502.6万元。", "en", 2023).startswith("In 2023")


def test_no_year_is_written_in_the_logic_the_domain_or_the_texts():
    """Every year the bot says comes from the reports in the database (docstrings and comments may give examples)."""
    year = re.compile(r"(?<![\d.])(19|20)\d\d(?![\d.])")
    # In texts, a year as a year ("2022年", "in 2022", "2022 work report"), not a length such as maxlength="2000".
    said = re.compile(
        r"(?<![\d.])(?:19|20)\d\d(?=\s*年|\s+(?:work|government|report))|\b(?:in|In|since|by) (?:19|20)\d\d\b"
    )
    files = [ROOT / "domain.yml", ROOT / "actions" / "texts.yml", ROOT / "bot" / "web" / "gateway" / "messages.yml"]
    files += sorted((ROOT / "bot" / "web" / "admin" / "templates").rglob("*.html"))
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.lstrip().startswith("#"):
                assert not said.search(line), f"{path.name}:{number}: {line.strip()}"
    for path in [
        ROOT / "actions" / "years.py",
        ROOT / "actions" / "answering.py",
        ROOT / "kb" / "reports.py",
        ROOT / "kb" / "figures.py",
    ]:
        code = re.sub(r'"""[\s\S]*?"""|#.*', "", path.read_text(encoding="utf-8"))
        assert not [m.group(0) for m in year.finditer(code) if m.group(0) not in ("1900", "2100")], path.name


async def test_a_bare_comparison_the_nlu_is_unsure_of_still_compares(two_years, make_tracker, dispatcher, domain):
    """ "比2022年多了吗" alone is nlu_fallback for today's model: the low-confidence action answers it from the topic."""
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "ask_followup", "confidence": 0.3}]
    slots = {"topic": "elder_allowance", "fact": "amount_2023"}
    tracker = make_tracker("比2022年多了吗", "nlu_fallback", 0.4, ranking=ranking, slots=slots)
    await ActionTriageLowConfidence().run(dispatcher, tracker, domain)
    assert "2023年比2022年多74.25万元" in dispatcher.messages[-1]["text"]


async def test_the_source_of_an_earlier_years_answer_is_that_years_sentence(
    two_years, make_tracker, dispatcher, domain
):
    slots = {"topic": "elder_allowance", "fact": "amount"}  # the 2022 figure was the last answer
    await ActionShowSource().run(dispatcher, make_tracker("/show_source", "show_source", slots=slots), domain)
    text = dispatcher.messages[-1]["text"]
    assert "2022年支塘镇政府工作报告" in text and "1428.35万元" in text
    slots["fact"] = "amount_2023"
    await ActionShowSource().run(dispatcher, make_tracker("/show_source", "show_source", slots=slots), domain)
    assert (
        "2023年支塘镇政府工作报告" in dispatcher.messages[-1]["text"]
        and "1502.6万元" in dispatcher.messages[-1]["text"]
    )


@pytest.fixture
def one_update(kb_url: str) -> str:
    """The KB with only the elder allowance's amount taken from the made-up later report (as a clerk may do)."""
    from kb.reports import accept

    with session_factory(kb_url)() as session, session.begin():
        plan = propose(session, REPORT.read_text(encoding="utf-8"), 2023)
        update = next(
            p for p in plan.proposals if p.kind == "update" and p.entry_id == "elder_allowance" and "万元" in p.figure
        )
        accept(session, plan, update.id, "wang")
    return kb_url


def test_every_report_an_answer_quotes_is_cited(one_update):
    reply = ask(one_update, "尊老金发了多少钱")
    assert "1502.6万元" in reply.text and "21389" in reply.text  # the amount of 2023, the seniors of 2022
    assert "来源：2023年支塘镇政府工作报告；2022年支塘镇政府工作报告" in reply.text


def test_a_year_another_figure_of_the_entry_has_is_not_said_to_be_missing_for_the_entry(one_update):
    reply = ask(one_update, "2023年尊老金惠及多少老人")
    first = reply.text.split("\n")[0]
    assert reply.kind == "year_unknown" and "这个数字没有2023年的" in first and "只有2022年的" in first
