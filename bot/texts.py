"""Bilingual text tables kept as YAML beside the code that says them (actions/texts.yml, the gateway's
messages.yml): staff and translators edit words, not Python, and one loader checks them for both.

A table is {key: {zh: ..., en: ...}}; placeholders are str.format fields ("{title}"). Loading refuses a
table where a text lacks a language or the two languages use different placeholders, so a missing
translation fails at start-up (and in the tests), never in front of a resident.
"""

from __future__ import annotations

import string
from pathlib import Path

import yaml

from bot.language import LANGS

Table = dict[str, dict[str, str]]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def load_texts(path: Path, section: str | None = None) -> Table:
    """The table of a YAML file (or of one of its top-level sections), checked (ValueError names the key)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if section is not None:
        data = data.get(section) if isinstance(data, dict) else None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of keys to {{zh, en}}")
    for key, texts in data.items():
        if not isinstance(texts, dict) or any(not isinstance(texts.get(lang), str) for lang in LANGS):
            raise ValueError(f"{path}: {key} needs a text in each of {', '.join(LANGS)}")
        if len({frozenset(_fields(texts[lang])) for lang in LANGS}) != 1:
            raise ValueError(f"{path}: {key} uses different placeholders in its languages")
    return data


def fill(table: Table, key: str, lang: str, **values: object) -> str:
    """A text in the language (Chinese when the language is unknown), with its placeholders filled."""
    return table[key][lang if lang in LANGS else "zh"].format(**values)
