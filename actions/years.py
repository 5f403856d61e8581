"""Answers by year: the KB holds one figure per report year (kb.queries.by_series: the newest leads, every
year in `by_year`), and residents ask for a year, the year before, or the difference.

- No year asked: the newest year's figure leads, labelled with its year (actions.answering as before).
- A year asked that the entry has a figure for ("2022年呢", "what about 2022?"): that year's figure, cited to
  that year's report.
- "去年呢", "last year?" in a conversation on a figure: the year before that figure's year (the resident has
  just read "2023年…"); in a fresh question "去年" is the calendar's (understanding.years_asked).
- A comparison ("比2022年多了吗", "how much more than in 2022?"): both figures, each quoted with its year, and the
  difference computed from them (kb.figures), said to be computed.
- A year with no figure: None here, so answering says "not in the KB" and gives what it has.

Pure functions over the KB snapshot's entry dicts; no year is written here, every year comes from the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from actions.i18n import t
from actions.understanding import Question, years_asked
from kb.figures import difference
from kb.text import normalize

# A comparison with a year, besides the growth words of understanding._CHANGE: "比2022年", "than in 2022".
_COMPARED = re.compile(
    r"比\s*(?:(?:19|20)\d\d\s*年?|去年|前年|上一?年)|\bthan (?:in )?(?:(?:19|20)\d\d|last year|the year before)\b|"
    r"\bcompared (?:with|to) (?:(?:19|20)\d\d|last year)\b",
    re.I,
)


def compares(question: Question) -> bool:
    """True when the question compares years ("比2022年多了吗", "how much more than in 2022?")."""
    return question.change or bool(_COMPARED.search(normalize(question.focus)))


@dataclass
class ByYear:
    """What to say: the lines, the fact the answer is about (its year's), and the reply kind."""

    lines: list[str]
    fact: dict[str, Any]
    kind: str = "answer"


def year_of(fact: dict[str, Any] | None) -> int | None:
    """The year of the report a fact quotes (None for a staff fact)."""
    return fact.get("report") if fact else None


def with_year(text: str, lang: str, year: int | None) -> str:
    """A report fact's text, made to say which year its figure is from (staff facts say their own)."""
    if year is None or re.search(r"(19|20)\d\d", text):
        return text
    return t("in_year", lang, year=str(year), text=text)


def members(fact: dict[str, Any]) -> list[dict[str, Any]]:
    """Every year of a fact's series, newest first (a fact from outside the KB snapshot is its own series)."""
    return list(fact.get("by_year") or [fact])


def known_years(fact: dict[str, Any] | None, lang: str) -> str:
    """The years a fact has figures for, newest first ("2023、2022"; "" for a staff fact or none)."""
    found = [str(y) for y in (year_of(m) for m in members(fact)) if y is not None] if fact else []
    return ("、" if lang == "zh" else ", ").join(found)


def lead_key(entry: dict[str, Any], key: str | None) -> str | None:
    """The key of the leading (newest) fact of the series that `key` belongs to: the fact the conversation was
    on may be an earlier year's."""
    for fact in entry["facts"]:
        if any(m["key"] == key for m in members(fact)):
            return fact["key"]
    return key


def _member(entry: dict[str, Any], key: str | None) -> dict[str, Any] | None:
    return next((m for f in entry["facts"] for m in members(f) if m["key"] == key), None)


def asked_years(question: Question, entry: dict[str, Any], fact: dict[str, Any] | None, on: str | None) -> list[int]:
    """The years the question asks about. In a conversation on one of the entry's facts (`on`, its key) or in a
    comparison, "去年"/"last year" count back from the year of that fact (else the leading fact's)."""
    anchor = year_of(_member(entry, on)) or year_of(fact)
    if anchor is None or not (on or compares(question)):
        return list(question.years)
    return years_asked(normalize(question.focus), date(anchor, 7, 1))


def unknown_years(years: list[int], fact: dict[str, Any] | None) -> list[int]:
    """The years asked that the fact has no figure for (the leading year counts as known)."""
    have = {year_of(m) for m in members(fact)} if fact else set()
    return [y for y in years if y not in have]


def answer(
    entry: dict[str, Any],
    question: Question,
    fact: dict[str, Any] | None,
    lang: str,
    on: str | None,
    cite: dict[str, str] | None,
) -> ByYear | None:
    """The answer about other years of the chosen fact, or None when the usual answer (the newest year) or
    an honest gap fits. `on` is the fact the conversation was on; `cite` the newest report's title."""
    if fact is None:
        return None
    years = asked_years(question, entry, fact, on)
    by_year = {year_of(m): m for m in members(fact) if year_of(m) is not None}
    if compares(question):
        return _comparison(entry, fact, years, by_year, lang, on, cite)
    if not years or any(y not in by_year for y in years):
        return None
    if years == [year_of(fact)] and len(by_year) < 2:
        return None  # the one year the KB has: the usual answer says it
    shown = [by_year[y] for y in sorted(years, reverse=True)]
    lines = [with_year(m[lang], lang, year_of(m)) for m in shown]
    lines.append(t("source_line", lang, report=_title(shown[0], cite, lang)))
    return ByYear(lines, shown[0])


def _comparison(
    entry: dict[str, Any],
    fact: dict[str, Any],
    years: list[int],
    by_year: dict[int | None, dict[str, Any]],
    lang: str,
    on: str | None,
    cite: dict[str, str] | None,
) -> ByYear | None:
    """Two years' figures and their computed difference, or None (one of the years has none: an honest gap)."""
    base = year_of(_member(entry, on)) or year_of(fact)
    known = sorted((y for y in by_year if y is not None), reverse=True)
    pair = sorted(set(years), reverse=True)[:2]
    if len(pair) == 1:  # "比2022年多了吗": with the year the conversation is on, else the newest
        other = base if base != pair[0] else next((y for y in known if y != pair[0]), None)
        pair = sorted({pair[0], other}, reverse=True) if other is not None else []
    elif not pair and base is not None:  # "增长了吗": with the year before, else the year after
        earlier = [y for y in known if y < base] or [y for y in known if y > base]
        pair = sorted({base, earlier[0]}, reverse=True) if earlier else []
    if len(pair) != 2 or any(y not in by_year for y in pair):
        return None
    later, earlier_fact = by_year[pair[0]], by_year[pair[1]]
    lines = [with_year(m[lang], lang, year_of(m)) for m in (later, earlier_fact)]
    change = difference(later.get("figure"), earlier_fact.get("figure"))
    if change is not None:
        size = change.zh if lang == "zh" else change.en
        if change.kind == "amount":
            size = t("money", lang, value=size)
        key = (
            "year_difference_none"
            if change.number == 0
            else ("year_difference_up" if change.number > 0 else "year_difference_down")
        )
        lines.append(t(key, lang, later=str(pair[0]), earlier=str(pair[1]), difference=size))
    lines.append(t("source_line", lang, report=" / ".join(_title(m, cite, lang) for m in (later, earlier_fact))))
    return ByYear(lines, later)


def _title(fact: dict[str, Any], cite: dict[str, str] | None, lang: str) -> str:
    return ((fact.get("report_title") or cite or {}).get(lang)) or t("the_report", lang)
