"""Bot texts written by the actions, in Chinese and English: the words are in actions/texts.yml (fixed replies
live in domain.yml), the names of staff fields in kb/source/staff_fields.yml."""

from __future__ import annotations

from pathlib import Path

from bot.texts import Table, fill, load_texts
from kb.shape import STAFF_FIELDS

FIELD_NAMES: dict[str, dict[str, str]] = {f.name: {"zh": f.label["zh"], "en": f.label["en"]} for f in STAFF_FIELDS}

TEXTS_FILE = Path(__file__).with_name("texts.yml")
TEXTS: Table = load_texts(TEXTS_FILE, "replies")
BUTTONS: Table = load_texts(TEXTS_FILE, "buttons")
FACET_NAMES: Table = load_texts(TEXTS_FILE, "facets")


def t(key: str, lang: str, **values: str) -> str:
    """A bot text in the language, with its placeholders filled."""
    return fill(TEXTS, key, lang, **values)
