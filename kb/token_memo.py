"""The search tokens of an index's texts, kept for the next index of the same KB (an incremental refresh).

A staff edit changes one entry of the KB; the index is rebuilt (kb/index_cache.py) and cutting every entry and
report sentence into tokens with jieba was most of a build (about 70 s of 77 at 10,000 entries). A text's
tokens depend only on the text and on the KB terms that occur in it (kb.text.Segmenter keeps jieba's total
frequency fixed for that), so the next index takes the previous index's tokens of every unchanged text that
holds none of the terms the edit added or removed, and cuts only the others: the result is the same as a full
build's, which tests/test_index_refresh.py checks.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import ahocorasick

from kb.text import Segmenter, normalize, tokens


class TokenMemo:
    """texts -> tokens under one segmenter, reusing a previous memo's where they cannot have changed."""

    def __init__(self, segmenter: Segmenter, previous: TokenMemo | None = None):
        self.segmenter = segmenter
        self.known: dict[str, list[str]] = {}  # text -> its tokens (strings interned: one copy per token)
        self.reused = self.cut = 0  # how many texts came from the previous memo, how many were cut
        self._previous = previous
        self._changed: ahocorasick.Automaton | None = None
        if previous is not None:
            changed = segmenter.terms ^ previous.segmenter.terms
            if changed:
                self._changed = ahocorasick.Automaton()
                for term in changed:
                    self._changed.add_word(term, term)
                self._changed.make_automaton()

    def tokens_of(self, texts: Iterable[str]) -> list[list[str]]:
        """The tokens of each text (one list per text, shared by equal texts: never change them)."""
        return [self._tokens(text) for text in texts]

    def done(self) -> None:
        """Drop the previous memo (the index it belongs to can go once no reader holds it)."""
        self._previous = self._changed = None

    def _tokens(self, text: str) -> list[str]:
        found = self.known.get(text)
        if found is not None:
            return found
        previous = self._previous.known.get(text) if self._previous is not None else None
        if previous is not None and not self._holds_changed_term(text):
            self.reused += 1
            found = previous
        else:
            self.cut += 1
            found = [sys.intern(t) for t in tokens(text, self.segmenter)]
        self.known[text] = found
        return found

    def _holds_changed_term(self, text: str) -> bool:
        if self._changed is None:
            return False
        return next(self._changed.iter(normalize(text)), None) is not None
