"""Bot texts written by the actions, in Chinese and English: the words are in actions/texts.yml (fixed replies
live in domain.yml), the names of staff fields in kb/source/staff_fields.yml."""

from __future__ import annotations

from pathlib import Path

from bot.office_hours import Week, clock, runs
from bot.texts import Table, fill, load_texts
from kb.shape import STAFF_FIELDS

FIELD_NAMES: dict[str, dict[str, str]] = {f.name: {"zh": f.label["zh"], "en": f.label["en"]} for f in STAFF_FIELDS}

TEXTS_FILE = Path(__file__).with_name("texts.yml")
TEXTS: Table = load_texts(TEXTS_FILE, "replies")
BUTTONS: Table = load_texts(TEXTS_FILE, "buttons")
FACET_NAMES: Table = load_texts(TEXTS_FILE, "facets")
HOURS: Table = load_texts(TEXTS_FILE, "hours")


def t(key: str, lang: str, **values: str) -> str:
    """A bot text in the language, with its placeholders filled."""
    return fill(TEXTS, key, lang, **values)


def listed(items: list[str], lang: str) -> str:
    """Items as a list in the language: "a、b、c" / "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return fill(HOURS, "list_two", lang, first=items[0], second=items[1])
    return fill(HOURS, "list_more", lang, first=items[0], rest=listed(items[1:], lang))


def week_text(week: Week, lang: str) -> str:
    """Weekly hours said in the language from their structure, never from the text staff typed:
    "周一至周五 8:30–12:00、13:00–16:30" / "Monday to Friday, 8:30–12:00 and 13:00–16:30"."""
    parts = []
    for days, ranges in runs(week):
        if len(days) == 7:
            named = fill(HOURS, "every_day", lang)
        elif len(days) > 2:
            named = fill(HOURS, "day_span", lang, first=_day(days[0], lang), last=_day(days[-1], lang))
        else:
            named = listed([_day(day, lang) for day in days], lang)
        times = listed([f"{clock(opens)}–{clock(closes)}" for opens, closes in ranges], lang)
        parts.append(fill(HOURS, "days_hours", lang, days=named, times=times))
    if not parts:
        return fill(HOURS, "none", lang)
    text = parts[-1]
    for part in reversed(parts[:-1]):
        text = fill(HOURS, "runs_join", lang, first=part, rest=text)
    return text


def _day(day: int, lang: str) -> str:
    return fill(HOURS, f"day_{day}", lang)
