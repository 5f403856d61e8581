"""BM25 search (bm25s over jieba tokens) over the KB's entries and the report's sentences."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import ahocorasick
import bm25s
import numpy as np

from bot.rewrite import Rewriter
from kb.lexicon import chinese_names, rewrite_tables, toneless
from kb.text import STOPWORDS_EN, Segmenter, normalize, tokens
from kb.token_memo import TokenMemo


@dataclass(frozen=True)
class Hit:
    """A search result: an entry id or a sentence index, its BM25 score and its query coverage (0..1)."""

    key: str | int
    score: float
    coverage: float


def entry_terms(entry: Mapping[str, Any]) -> list[str]:
    """The names of an entry that jieba should keep whole: titles and Chinese aliases."""
    return [entry["title"]["zh"], *entry["aliases"]["zh"]]


def entry_document(entry: Mapping[str, Any]) -> str:
    """The text an entry is found by: names twice (they matter most), then summary and facts."""
    names = " ".join([entry["title"]["zh"], entry["title"]["en"], *entry["aliases"]["zh"], *entry["aliases"]["en"]])
    facts = " ".join(" ".join([f["zh"], f["en"], *f["keywords"]["zh"], *f["keywords"]["en"]]) for f in entry["facts"])
    situations = entry.get("situations") or {}
    needs = " ".join([*(situations.get("zh") or []), *(situations.get("en") or [])])
    return " ".join([names, names, entry["summary"]["zh"], entry["summary"]["en"], needs, facts])


def _parts(name: str) -> set[str]:
    """Every contiguous part of a name: runs of two or more characters, or of whole English words."""
    if name.isascii():
        words = _name_form(name).split()
        return {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    return {name[i:j] for i in range(len(name)) for j in range(i + 2, len(name) + 1)}


def _spaced(text: str) -> str:
    return " ".join("".join(c if c.isalnum() or c == "." else " " for c in text).split())


def _singular(word: str) -> str:
    """An English word without its plural ending, enough to match a name: "centres" -> "centre",
    "companies" -> "company" (words in -ss, -us, -is keep theirs: "process", "bus", "basis")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_CANNOT = re.compile(r"\b(?:couldn t|cannot|can not)\b")


def _name_form(text: str) -> str:
    """How English names are matched: spaced words without full stops, each singular, and one spelling of "can't" (cannot,
    couldn't), so that "reimbursements" finds the name "medical insurance reimbursement" and "still can't get
    my paperwork done" the name "couldn't get my paperwork done". Applied alike to the KB's names and to the
    question."""
    words = (word.strip(".") for word in _spaced(text).split())  # a full stop ends a sentence, not a name
    return _CANNOT.sub("can t", " ".join(_singular(word) for word in words if word))


class _Bm25:
    """One bm25s index with document frequencies for the coverage measure."""

    def __init__(self, documents: list[list[str]]):
        self.size = len(documents)
        self.df = Counter(t for doc in documents for t in set(doc))
        self.model = bm25s.BM25()
        if documents:
            self.model.index(documents, show_progress=False)

    def idf(self, token: str) -> float:
        df = self.df.get(token, 0)
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def search(self, query: list[str], doc_tokens: list[set[str]], k: int) -> list[tuple[int, float, float]]:
        if not self.size or not query:
            return []
        scores = self.model.get_scores(query)
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        total = sum(self.idf(t) for t in query)
        out = []
        for i in top:
            if scores[i] <= 0:
                break
            matched = sum(self.idf(t) for t in query if t in doc_tokens[i])
            out.append((int(i), float(scores[i]), matched / total if total else 0.0))
        return out


class KnowledgeIndex:
    """Search over entries (by names, summary and facts) and over report sentences."""

    def __init__(
        self,
        entries: Iterable[dict[str, Any]],
        sentences: Iterable[str],
        meta: dict[str, Any] | None = None,
        previous: KnowledgeIndex | None = None,  # the index this one replaces: its tokens are reused
    ):
        meta = meta or {}
        self.year: int | None = meta.get("year")  # the report's year, which answers cite
        self.report_title: dict[str, str] | None = meta.get("title")
        self.contact_entry: str | None = meta.get("contact_entry")  # where residents are sent for a person
        self.entries = list(entries)
        self._by_id = {e["id"]: e for e in self.entries}
        # Residents' words -> the KB's words (dialect, pinyin; homophones of names below), before search.
        self.rewriter = Rewriter.from_tables(rewrite_tables(self.entries, spelling=True))
        self._homophones: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        self._names = {n for n, _ in chinese_names(self.entries)}
        for name in dict.fromkeys(n for n, _ in chinese_names(self.entries) if len(n) >= 2):  # titles first
            sylls = tuple(toneless(name))
            if len(sylls) == len(name):  # all characters: a homophone typo can stand for it
                self._homophones[sylls[0]].append((sylls, name))
        self.sentences = list(sentences)
        self.segmenter = Segmenter(term for e in self.entries for term in entry_terms(e))
        # --- index build: incremental refresh (kb/token_memo.py), same tokens as cutting every text again ---
        self.token_memo: TokenMemo = TokenMemo(self.segmenter, previous.token_memo if previous is not None else None)
        entry_docs = self.token_memo.tokens_of(entry_document(e) for e in self.entries)
        sentence_docs = self.token_memo.tokens_of(self.sentences)
        self.token_memo.done()
        # --- end of the incremental part ---
        self._entry_sets = [set(d) for d in entry_docs]
        self._sentence_sets = [set(d) for d in sentence_docs]
        self._entries = _Bm25(entry_docs)
        self._sentences = _Bm25(sentence_docs)
        self.aliases = sorted(
            (
                (normalize(alias), e["id"])
                for e in self.entries
                for alias in [e["title"]["zh"], e["title"]["en"], *e["aliases"]["zh"], *e["aliases"]["en"]]
                if len(normalize(alias)) >= 2
            ),
            key=lambda pair: -len(pair[0]),
        )
        # A name as it is matched: Chinese as written (normalised), English in its singular form (_name_form).
        forms = [(_name_form(alias) if alias.isascii() else alias, eid) for alias, eid in self.aliases]
        owners: dict[str, set[str]] = defaultdict(set)
        for form, eid in forms:
            for part in _parts(form):
                owners[part].add(eid)
        self.generic = {form for form, eid in forms if owners[form] - {eid}}
        # Parts of names that only one entry's names hold ("air" of air quality, 空气 of 空气质量): in a short
        # follow-up ("and the air?", "那空气呢？") they name that entry (kb.search.KnowledgeIndex.named_by_a_part).
        self._own_parts = {
            part: next(iter(eids))
            for part, eids in owners.items()
            if len(eids) == 1 and part not in STOPWORDS_EN and (not part.isascii() or len(part) > 2)
        }
        # Aho-Corasick automatons find every name in one pass, however many entries there are.
        self._chinese_names = _automaton((form, eid) for form, eid in forms if not form.isascii())
        self._english_names = _automaton((f" {form} ", eid) for form, eid in forms if form.isascii() and form)

    def rewrite(self, text: str) -> str:
        """The question in the KB's words: dialect and pinyin (bot/rewrite.py), then homophone typos of the
        KB's names from pinyin input methods (尊老今 -> 尊老金, 医宝 -> 医保): same pinyin, and at least half
        of the characters already right."""
        text = self.rewriter.rewrite(text)
        return re.sub(r"[\u3400-\u9fff]{2,}", lambda m: self._fix_homophones(m.group(0)), text)

    def _fix_homophones(self, run: str) -> str:
        sylls = [next(iter(toneless(ch)), "") for ch in run]
        out, i = [], 0
        while i < len(run):
            best: tuple[int, int, str] | None = None  # (length, characters already right, name)
            for name_sylls, name in self._homophones.get(sylls[i], ()):
                n = len(name_sylls)
                span = run[i : i + n]
                if tuple(sylls[i : i + n]) != name_sylls or self._is_word(span):
                    continue
                same = sum(a == b for a, b in zip(span, name, strict=False))
                if same * 2 >= n and (best is None or (n, same) > best[:2]):
                    best = (n, same, name)
            out.append(best[2] if best else run[i])
            i += best[0] if best else 1
        return "".join(out)

    def _is_word(self, text: str) -> bool:
        """A KB name or a word of jieba's dictionary: not a typo (报销 stays, though 报消 is an alias)."""
        return text in self._names or self.segmenter.knows(text)

    def tokens(self, text: str) -> list[str]:
        """Search tokens of a text, with this index's KB terms kept whole."""
        return tokens(text, self.segmenter)

    def entry(self, entry_id: str | None) -> dict[str, Any] | None:
        """One active entry by id, or None."""
        return self._by_id.get(entry_id) if entry_id else None

    def search_entries(self, query: str, k: int = 3) -> list[Hit]:
        """Entries ranked by BM25 for a question."""
        found = self._entries.search(self.tokens(query), self._entry_sets, k)
        return [Hit(self.entries[i]["id"], score, cov) for i, score, cov in found]

    def search_sentences(self, query: str, k: int = 3) -> list[Hit]:
        """Report sentences ranked by BM25 for a question."""
        return [
            Hit(i, score, cov) for i, score, cov in self._sentences.search(self.tokens(query), self._sentence_sets, k)
        ]

    def alias_hits(self, query: str) -> list[str]:
        """Entries named in the question by a title or alias, longest name first, each once."""
        return [eid for eid, _ in self.named(query)]

    def _matches(self, query: str) -> list[tuple[int, int, int, str, str]]:
        """Every KB name in the question: (which text it was found in, start, end, name, entry id). Chinese names
        are found in the normalised text, English ones in its spaced form, so positions compare within one."""
        text = normalize(query)
        return [
            (hay, end - len(name) + 1, end + 1, name, eid)
            for hay, (automaton, haystack) in enumerate(
                ((self._chinese_names, text), (self._english_names, f" {_name_form(text)} "))
            )
            if automaton is not None
            for end, pairs in automaton.iter(haystack)
            for name, eid in pairs
        ]

    def named(self, query: str) -> list[tuple[str, bool]]:
        """Entries named in the question, longest name first, each with whether a name specific to it matched.

        A name is generic when it is part of another entry's name (医保 in 医保报销).
        """
        found: dict[str, bool] = {}
        for _, _, _, alias, eid in sorted(self._matches(query), key=lambda m: -len(m[3].strip())):
            found[eid] = found.get(eid, False) or alias.strip() not in self.generic
        return list(found.items())

    def named_by_a_part(self, query: str) -> list[str]:
        """Entries named by a part of a name that is theirs alone ("and the air?"), longest part first."""
        text = normalize(query)
        spaced = _name_form(text).split()
        found = [
            *(text[i:j] for i in range(len(text)) for j in range(i + 2, min(len(text), i + 8) + 1)),
            *(" ".join(spaced[i:j]) for i in range(len(spaced)) for j in range(i + 1, min(len(spaced), i + 3) + 1)),
        ]
        owned = sorted((p for p in found if p in self._own_parts), key=len, reverse=True)
        return list(dict.fromkeys(self._own_parts[p] for p in owned))

    def overlapping_names(self, query: str) -> set[str]:
        """Entries whose specific names overlap another entry's specific name in the question ("fire safety
        inspection": fire safety and safety inspection): the words name neither entry for sure."""
        spans = [m for m in self._matches(query) if m[3].strip() not in self.generic]
        return {
            a[4]
            for a in spans
            for b in spans
            if a[4] != b[4] and a[0] == b[0] and a[1] < b[2] - 1 and b[1] < a[2] - 1  # more than a space shared
        }

    def without_names(self, text: str) -> str:
        """The text with every Chinese KB name cut out (to judge the language of what is left)."""
        text = normalize(text)
        for alias, _ in sorted(_find(self._chinese_names, text), key=lambda m: -len(m[0])):
            text = text.replace(alias, " ")
        return text


def _automaton(names: Iterable[tuple[str, str]]) -> ahocorasick.Automaton | None:
    automaton = ahocorasick.Automaton()
    for name, eid in names:
        existing = automaton.get(name, ())
        automaton.add_word(name, (*existing, (name, eid)))
    if not len(automaton):
        return None
    automaton.make_automaton()
    return automaton


def _find(automaton: ahocorasick.Automaton | None, text: str) -> list[tuple[str, str]]:
    """Every (name, entry id) of the automaton found in the text."""
    if automaton is None:
        return []
    return [pair for _, pairs in automaton.iter(text) for pair in pairs]
