"""The rewrite tables of bot/rewrite.py: the reviewable lexicon (kb/source/lexicon.yml) and the pinyin of the
KB's own names (made with pypinyin, so a staff member's new alias is found in pinyin at once)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pypinyin import Style, lazy_pinyin

from bot import settings
from bot.rewrite import name_table

LEXICON_PATH = settings.KB_SOURCE_DIR / "lexicon.yml"
# What `python -m kb userdict` writes for Rasa's tokenizer (kept in the model at training).
TABLES_PATH = settings.USERDICT_PATH.parent.parent / "lexicon" / "lexicon.json"


class LexiconError(ValueError):
    """The lexicon breaks its format; the message lists every problem."""


@lru_cache(maxsize=4)
def _load(path: Path, _mtime: float) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems = lexicon_problems(data)
    if problems:
        raise LexiconError(f"{path.name}: " + "; ".join(problems))
    return data


def load_lexicon(path: Path = LEXICON_PATH) -> dict[str, Any]:
    """The lexicon: {"colloquial": [{from, to, why, at_end?}], "pinyin": {pinyin: word}} (checked)."""
    return _load(path, path.stat().st_mtime) if path.is_file() else {"colloquial": [], "pinyin": {}}


def lexicon_problems(data: Any) -> list[str]:
    """What is wrong with a lexicon (empty when nothing is): every phrase needs from, to and why."""
    if not isinstance(data, dict):
        return ["expected a mapping with colloquial and pinyin"]
    problems = []
    for item in data.get("colloquial") or []:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item[k] for k in ("from", "why")):
            problems.append(f"colloquial entry needs from, to and why: {item!r:.60}")
        elif not isinstance(item.get("to"), str):
            problems.append(f"colloquial entry needs a `to`: {item!r:.60}")
    for group in data.get("english") or []:
        if not (isinstance(group, dict) and group.get("words") and group.get("to") and group.get("why")):
            problems.append(f"english entry needs words, to and why: {group!r:.60}")
    for key, value in (data.get("pinyin") or {}).items():
        if not (isinstance(key, str) and key.isascii() and key.isalpha() and isinstance(value, str) and value):
            problems.append(f"pinyin entry must map letters to a word: {key!r}")
    return problems


def toneless(text: str) -> list[str]:
    """The toneless pinyin syllables of the Chinese characters of a text (other characters are dropped)."""
    return list(_toneless(text))


@lru_cache(maxsize=1 << 18)
def _toneless(text: str) -> tuple[str, ...]:
    # Kept: an index refresh asks again for the pinyin of every name in the KB (a third of a build at 10,000
    # entries before it was kept; 10,000 entries have over 100,000 names), and a search for each character of
    # a question.
    return tuple(s for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore", v_to_u=False) if s.isalpha())


def chinese_names(entries: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The KB's Chinese names with their entry: every entry's title, then its Chinese aliases."""
    return [(n, e["id"]) for e in entries for n in [e["title"]["zh"], *e["aliases"]["zh"]] if n]


def rewrite_tables(entries: Iterable[Mapping[str, Any]], path: Path = LEXICON_PATH) -> dict[str, Any]:
    """The tables bot.rewrite.Rewriter reads: the lexicon plus {joined pinyin: name} of the KB's names."""
    lexicon = load_lexicon(path)
    names = name_table((name, toneless(name), eid) for name, eid in chinese_names(entries) if len(toneless(name)) >= 2)
    return {
        "colloquial": lexicon.get("colloquial") or [],
        "pinyin": lexicon.get("pinyin") or {},
        "english": lexicon.get("english") or [],
        "names": names,
    }
