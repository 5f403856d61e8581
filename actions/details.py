"""Details the report does not give by its nature (an itemised list, a date, penalties, liability, refunds,
a breakdown, accessibility), defined in actions/details.yml.

A question that asks for one ("跨村通办第二批清单里具体有哪些事项？", "how much of that went to the health
centres only?") used to get the entry's headline figure, as if that answered it. Now the bot says the KB does
not have that detail, then what it does know, unless one of the entry's facts gives it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.texts import Table
from kb.text import normalize


@dataclass(frozen=True)
class Detail:
    """A kind of detail: its name, how a reply names it, the words that ask for it and those that give it."""

    name: str
    label: dict[str, str]
    asks: re.Pattern[str]
    given_by: re.Pattern[str]


def _load(path: Path) -> list[Detail]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Detail(
            name=item["name"],
            label=dict(item["label"]),
            asks=re.compile(item["asks"], re.I),
            given_by=re.compile(item["given_by"], re.I),
        )
        for item in data["details"]
    ]


DETAILS: list[Detail] = _load(Path(__file__).with_name("details.yml"))
DETAIL_NAMES: Table = {d.name: d.label for d in DETAILS}


def asked_detail(question: str) -> Detail | None:
    """The first detail the question asks for, if any."""
    text = normalize(question)
    found = [(m.start(), d) for d in DETAILS if (m := d.asks.search(text))]
    return min(found, key=lambda item: item[0])[1] if found else None


def gives(detail: Detail, fact: dict[str, Any]) -> bool:
    """True when the fact states that kind of detail (a list, a date …) in either language."""
    return any(detail.given_by.search(fact.get(lang) or "") for lang in ("zh", "en"))


def strip_detail_words(text: str) -> str:
    """The text without the words that ask for a detail, so that what is left names the subject."""
    for detail in DETAILS:
        text = detail.asks.sub(" ", text)
    return text
