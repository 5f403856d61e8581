"""The rewrite tables of bot/rewrite.py: the reviewable lexicon (kb/source/lexicon.yml), the pinyin of the
KB's own names (made with pypinyin, so a staff member's new alias is found in pinyin at once), and for spelling
the KB's English words (what a misspelling is corrected to) and the real English words of pyspellchecker's
frequency list (a typed word that is one is never corrected)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pypinyin import Style, lazy_pinyin

from bot import settings
from bot.rewrite import SPELLING_MIN, name_table

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


def rewrite_tables(
    entries: Iterable[Mapping[str, Any]], path: Path = LEXICON_PATH, spelling: bool = False
) -> dict[str, Any]:
    """The tables bot.rewrite.Rewriter reads: the lexicon plus {joined pinyin: name} of the KB's names, and with
    `spelling` the word lists that correct English misspellings.

    Spelling is for the KB's search only (kb.search): Rasa's NLU reads characters' n-grams, which a misspelling
    changes little, and tables that correct its training examples moved other predictions when the model was
    trained on them (the e2e sets, measured: wrong-entry replies that were not there before)."""
    lexicon = load_lexicon(path)
    names = name_table((name, toneless(name), eid) for name, eid in chinese_names(entries) if len(toneless(name)) >= 2)
    return {
        "colloquial": lexicon.get("colloquial") or [],
        "pinyin": lexicon.get("pinyin") or {},
        "english": lexicon.get("english") or [],
        "names": names,
        **(
            {"spelling": {"kb_words": kb_english_words(entries, lexicon), "english_words": list(english_words())}}
            if spelling
            else {}
        ),
    }


_ENGLISH_WORD = re.compile(r"[a-z]+")
ENGLISH_FLOOR = 50  # a word pyspellchecker counts fewer times than this is too rare to stop a correction


def kb_english_words(entries: Iterable[Mapping[str, Any]], lexicon: Mapping[str, Any]) -> dict[str, int]:
    """{word: occurrences} of the English words of the KB (titles, aliases, summaries, situations, facts and
    their keywords) and of the lexicon's English words: what a misspelled word may be corrected to."""
    texts: list[str] = []
    for entry in entries:
        situations = entry.get("situations") or {}
        texts += [entry["title"]["en"], entry["summary"]["en"], *entry["aliases"]["en"], *(situations.get("en") or [])]
        texts += [t for fact in entry["facts"] for t in (fact["en"], *fact["keywords"]["en"])]
    for group in lexicon.get("english") or []:
        texts += [str(word) for word in group.get("words") or []]
    counts: dict[str, int] = {}
    for text in texts:
        for word in _ENGLISH_WORD.findall(str(text or "").lower()):
            if len(word) >= SPELLING_MIN:
                counts[word] = counts.get(word, 0) + 1
    return dict(sorted(counts.items()))


@lru_cache(maxsize=1)
def english_words() -> tuple[str, ...]:
    """The real English words (letters only, long enough to be corrected) of pyspellchecker's frequency list."""
    from spellchecker import SpellChecker

    frequencies = SpellChecker(language="en").word_frequency.dictionary
    return tuple(
        sorted(
            word
            for word, count in frequencies.items()
            if count >= ENGLISH_FLOOR and len(word) >= SPELLING_MIN and word.isascii() and word.isalpha()
        )
    )
