"""Residents' words turned into the words the KB and the NLU know, before either reads a message.

- Wu (Changshu) dialect and colloquial Chinese from the reviewable lexicon (kb/source/lexicon.yml):
  "阿有尊老金伐" -> "有没有尊老金吗".
- Toneless pinyin typed with Latin letters: the KB's names anywhere ("What is kua cun tong ban?" ->
  "What is 跨村通办?"), and, in a message written wholly in pinyin, common question words too
  ("zunlaojin fa le duoshao" -> "尊老金发了多少").
- English misspellings of the KB's English words: "medcal insurence" -> "medical insurance" (a misspelled
  word would count as a question word the KB does not cover), only when the typed word is no real English
  word (pyspellchecker's frequency list, in the tables), is no pinyin, and one KB word alone is the closest
  (one edit away, two for words of eight letters or more, starting with the same letter), or the closest are
  forms of one word ("happend": happen, happens, happened: the KB's commonest). Only the KB's search reads
  these word lists (kb.lexicon.rewrite_tables(spelling=True)); the tables kept with the model have none, so the
  NLU reads a misspelling as typed (its characters' n-grams change little).

Standard library only: Rasa's tokenizer (bot.rasa_ext, with the tables kept in the model) and the KB's search
(kb.search, with the live KB's names) apply the same rewrite. Chinese homophone typos (尊老今) need
characters' pinyin, so kb.search handles those.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.pinyin import ENGLISH, is_pinyin_text, syllables

_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z']*(?:[ \t]+[A-Za-z][A-Za-z']*)*")
SPELLING_MIN = 4  # shorter words are never corrected: too many real words are one letter apart
SPELLING_LONG = 8  # from this length a misspelling may be two edits away
_SPELL_WORD = re.compile(r"(?<![A-Za-z'-])[A-Za-z]{" + str(SPELLING_MIN) + r",}(?![A-Za-z'-])")
_END = "。！？!?，,.；;、 \n"


@dataclass(frozen=True)
class Phrase:
    """A dialect or colloquial phrase and the standard words for it; `at_end`: only before punctuation or
    the end of the message (a sentence-final particle such as 伐)."""

    source: str
    target: str
    at_end: bool = False


@dataclass
class Rewriter:
    """The rewrite with its tables: colloquial phrases, pinyin of names and of question words."""

    phrases: list[Phrase] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # joined toneless pinyin -> the KB's Chinese name
    words: dict[str, str] = field(default_factory=dict)  # joined toneless pinyin -> common Chinese word
    english: list[tuple[str, str]] = field(default_factory=list)  # everyday English -> the KB's term, added
    kb_words: dict[str, int] = field(default_factory=dict)  # the KB's English words (occurrences): corrections
    english_words: frozenset[str] = field(default_factory=frozenset)  # real English words: never corrected

    def __post_init__(self) -> None:
        self.phrases = sorted(self.phrases, key=lambda p: -len(p.source))
        terms = sorted(self.english, key=lambda pair: -len(pair[0]))
        self._english = [
            (re.compile(rf"(?<![\w-]){re.escape(source)}(?![\w-])(?! \({re.escape(target)}\))", re.I), target)
            for source, target in terms
        ]
        self._longest = max((len(syllables(k) or ()) for k in (*self.names, *self.words)), default=0)
        # Wu speakers (Changshu) type -n for -ng and z/c/s for zh/ch/sh ("zunlaojing"): names are also found
        # by their folded pinyin, unless two names fold alike.
        folded: dict[str, set[str]] = defaultdict(set)
        for joined, name in self.names.items():
            folded[wu_fold(joined)].add(name)
        self._folded = {k: next(iter(v)) for k, v in folded.items() if len(v) == 1}
        self._deletes: dict[str, set[str]] = defaultdict(set)  # SymSpell's index: a word's deletions -> words
        for word in self.kb_words:
            for variant in deletions(word, _spelling_distance(word)):
                self._deletes[variant].add(word)

    @classmethod
    def from_tables(cls, tables: Mapping[str, Any]) -> Rewriter:
        """From the JSON tables that `python -m kb userdict` writes (and the model keeps)."""
        phrases = [
            Phrase(str(p["from"]), str(p["to"]), bool(p.get("at_end", False)))
            for p in tables.get("colloquial", []) or []
            if isinstance(p, dict) and p.get("from") and p.get("to") is not None
        ]
        names = dict(tables.get("names", {}) or {})
        words = dict(tables.get("pinyin", {}) or {})
        english = [
            (str(word), str(group["to"]))
            for group in tables.get("english", []) or []
            if isinstance(group, dict) and group.get("to")
            for word in group.get("words") or []
        ]
        spelling = tables.get("spelling") or {}
        kb_words = {str(w): int(n) for w, n in (spelling.get("kb_words") or {}).items() if str(w).isalpha()}
        return cls(phrases, names, words, english, kb_words, frozenset(map(str, spelling.get("english_words") or [])))

    @classmethod
    def from_file(cls, path: Path | str | None) -> Rewriter:
        """From a tables file; an empty rewrite when there is none."""
        if not path or not Path(path).is_file():
            return cls()
        return cls.from_tables(json.loads(Path(path).read_text(encoding="utf-8")))

    def rewrite(self, text: str) -> str:
        """The message in the KB's words (idempotent; unknown words are left as they are)."""
        text = unicodedata.normalize("NFKC", text or "")
        for phrase in self.phrases:
            if phrase.source in text:
                text = self._replace(text, phrase)
        if self.names or self.words:
            whole_pinyin = is_pinyin_text(text) and not _has_cjk(text)
            text = _LATIN_RUN.sub(lambda m: self._pinyin_run(m.group(0), whole_pinyin), text)
        if self.kb_words:
            text = _SPELL_WORD.sub(self._spelled, text)
        added: set[str] = set()
        for pattern, target in self._english:
            if target not in added and f"({target})" not in text and pattern.search(text):  # once: idempotent
                text = pattern.sub(_with_term(target), text, count=1)
                added.add(target)
        return text

    def correction(self, word: str) -> str | None:
        """The KB word a misspelled word stands for, or None (a known or real word, pinyin, no single closest)."""
        typed = word.lower()
        if (
            len(typed) < SPELLING_MIN
            or not typed.isascii()
            or typed in self.kb_words
            or typed in self.english_words
            or typed in ENGLISH
            or syllables(typed) is not None
        ):
            return None
        limit = _spelling_distance(typed)
        found: dict[str, int] = {}
        for variant in deletions(typed, limit):
            for word in self._deletes.get(variant, ()):
                if word not in found and _same_start(typed, word):
                    found[word] = edit_distance(typed, word, limit)
        closest = sorted(w for w, d in found.items() if d <= limit and d == min(found.values()))
        if len(closest) > 1 and all(
            w.startswith(closest[0][: max(SPELLING_MIN, len(closest[0]) - 1)]) for w in closest
        ):
            closest = [max(closest, key=lambda w: self.kb_words[w])]  # forms of one word: the KB's commonest
        return closest[0] if len(closest) == 1 else None

    def _spelled(self, match: re.Match[str]) -> str:
        word = match.group(0)
        return self.correction(word) or word

    def _name(self, joined: str) -> str | None:
        """The KB name a joined pinyin spells, exactly or with a Wu speaker's folded sounds."""
        return self.names.get(joined) or self._folded.get(wu_fold(joined))

    @staticmethod
    def _replace(text: str, phrase: Phrase) -> str:
        if not phrase.at_end:
            return text.replace(phrase.source, phrase.target)
        pattern = re.escape(phrase.source) + f"(?=$|[{re.escape(_END)}])"
        return re.sub(pattern, phrase.target, text)

    def _pinyin_run(self, run: str, whole_pinyin: bool) -> str:
        """A run of Latin words with the pinyin of names (and, in a pinyin message, words) as characters."""
        words = run.lower().replace("'", " ").split()
        cut = [syllables(w) for w in words]
        if not whole_pinyin:
            return self._names_in_english(run, words, cut)
        sylls = [s for c in cut if c for s in c]
        if any(c is None for c in cut):
            return run
        out: list[str] = []
        i = 0
        while i < len(sylls):
            for j in range(min(len(sylls), i + self._longest), i, -1):
                joined = "".join(sylls[i:j])
                found = self._name(joined) if j - i >= 2 else None
                found = found or self.words.get(joined)
                if found:
                    out.append(found)
                    i = j
                    break
            else:
                out.append(f" {sylls[i]} ")
                i += 1
        return re.sub(r" +", " ", "".join(out)).strip()

    def _names_in_english(self, run: str, words: list[str], cut: list[tuple[str, ...] | None]) -> str:
        """In English text only whole words that spell a KB name of two syllables or more become characters."""
        out: list[str] = []
        i = 0
        changed = False
        while i < len(words):
            for j in range(len(words), i, -1):
                part = words[i:j]
                if any(cut[k] is None or words[k] in ENGLISH for k in range(i, j)):
                    continue
                count = sum(len(cut[k] or ()) for k in range(i, j))
                name = self._name("".join(part)) if count >= 2 else None
                if name:
                    out.append(name)
                    i, changed = j, True
                    break
            else:
                out.append(words[i])
                i += 1
        return " ".join(out) if changed else run


def _spelling_distance(word: str) -> int:
    """How many edits a misspelling of a word this long may be: one, two from SPELLING_LONG letters."""
    return 2 if len(word) >= SPELLING_LONG else 1


def _same_start(typed: str, word: str) -> bool:
    """Typists rarely get the first letter wrong; swapping the first two is a typo too."""
    return typed[0] == word[0] or (len(typed) > 1 and typed[:2] == word[1::-1])


def deletions(word: str, depth: int) -> set[str]:
    """The word and every string made of it by deleting up to `depth` letters (SymSpell's index keys)."""
    found, edge = {word}, {word}
    for _ in range(depth):
        edge = {w[:i] + w[i + 1 :] for w in edge for i in range(len(w))} - found
        found |= edge
    return found


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment: a swap of neighbours is one edit), or limit + 1
    when it is more than `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)


def wu_fold(pinyin: str) -> str:
    """Pinyin with the sounds Wu speakers merge folded together: zh/ch/sh -> z/c/s, -ng -> -n."""
    return re.sub(r"([zcs])h", r"\1", pinyin).replace("ng", "n")


def _with_term(term: str) -> Callable[[re.Match[str]], str]:
    """A replacement for re.sub that keeps the match and adds the KB's term after it in brackets."""
    return lambda match: f"{match.group(0)} ({term})"


def _has_cjk(text: str) -> bool:
    return re.search(r"[\u3400-\u9fff]", text) is not None


def name_table(names: Iterable[tuple[str, Iterable[str], str]]) -> dict[str, str]:
    """{joined pinyin: name} from (name, its toneless syllables, its entry), first name of an entry first.

    A pinyin that names two different entries is dropped: pinyin cannot tell them apart.
    """
    table: dict[str, tuple[str, str]] = {}
    clashes: set[str] = set()
    for name, sylls, owner in names:
        joined = "".join(sylls)
        if len(joined) < 4 or not joined.isalpha():
            continue
        if joined in table and table[joined][1] != owner:
            clashes.add(joined)
        table.setdefault(joined, (name, owner))
    return {k: v[0] for k, v in table.items() if k not in clashes}
