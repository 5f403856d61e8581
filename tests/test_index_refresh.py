"""An incremental index refresh (kb/token_memo.py) gives the index a full build gives, and cuts only what changed.

After a staff edit the new index reuses the previous index's tokens of every text that holds none of the KB
terms the edit added or removed; every other text is cut again. Each test compares the refreshed index with a
full build of the same KB: the tokens of every entry and report sentence, and what searches answer.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from kb import index_cache
from kb.db import session_factory
from kb.edits import add_staff_fact, update_entry
from kb.models import Entry
from kb.search import KnowledgeIndex, entry_document
from kb.source import report_sentences
from kb.text import Segmenter, tokens

QUESTIONS = [
    q["text"]
    for q in yaml.safe_load((Path(__file__).parent / "e2e" / "questions.yml").read_text(encoding="utf-8"))["questions"]
]


def snapshot(index: KnowledgeIndex) -> dict:
    """What an index is made of and what it answers, to compare a refreshed index with a full build."""
    return {
        "entry_tokens": [index.token_memo.known[entry_document(e)] for e in index.entries],
        "sentence_tokens": [index.token_memo.known[s] for s in index.sentences],
        "names": (index.aliases, index.generic, index.rewriter.names),
        "answers": [
            (index.search_entries(q, k=5), index.search_sentences(q), index.named(q), index.rewrite(q))
            for q in QUESTIONS
        ],
    }


@pytest.fixture
def sentences(report_text) -> list[str]:
    return report_sentences(report_text)


@pytest.fixture
def before(entries, sentences) -> KnowledgeIndex:
    return KnowledgeIndex(entries, sentences)


def refreshed_and_full(previous: KnowledgeIndex, entries, sentences) -> tuple[KnowledgeIndex, KnowledgeIndex]:
    return KnowledgeIndex(entries, sentences, previous=previous), KnowledgeIndex(entries, sentences)


def test_a_fact_edit_cuts_only_the_edited_entry(before, entries, sentences):
    edited = copy.deepcopy(entries)
    edited[3]["facts"][0]["zh"] += "（每月10日前发放）"
    refreshed, full = refreshed_and_full(before, edited, sentences)
    assert (refreshed.token_memo.cut, refreshed.token_memo.reused) == (1, len(entries) - 1 + len(sentences))
    assert snapshot(refreshed) == snapshot(full)


def term_that_recuts(index: KnowledgeIndex) -> tuple[str, str]:
    """A report sentence and a term that changes its tokens: a word of it with the next Chinese character."""
    for sentence in index.sentences:
        words = [w for w in index.segmenter.cut(sentence) if w.strip()]
        for left, right in zip(words, words[1:], strict=False):
            term = left + right[0]
            if len(left) > 1 and all("\u4e00" <= c <= "\u9fff" for c in term):
                recut = tokens(sentence, Segmenter([*index.segmenter.terms, term]))
                if recut != index.token_memo.known[sentence]:
                    return sentence, term
    raise AssertionError("no term changes a sentence's tokens")


def test_a_new_alias_cuts_again_every_text_it_occurs_in(before, entries, sentences):
    """The alias is a word of a report sentence with the next character: that sentence cuts differently now,
    and the refresh must notice it although the sentence itself did not change."""
    sentence, term = term_that_recuts(before)
    edited = copy.deepcopy(entries)
    edited[0]["aliases"]["zh"].append(term)
    refreshed, full = refreshed_and_full(before, edited, sentences)
    assert full.token_memo.known[sentence] != before.token_memo.known[sentence], "the term changes the cut"
    assert 2 <= refreshed.token_memo.cut < len(entries), "the edited entry and the texts holding the term"
    assert snapshot(refreshed) == snapshot(full)
    # and taking the alias out again cuts the sentence as before
    again, full_again = refreshed_and_full(refreshed, entries, sentences)
    assert snapshot(again) == snapshot(full_again) == snapshot(before)


def test_new_and_retired_entries_refresh_like_a_full_build(before, entries, sentences):
    added = copy.deepcopy(entries[5])
    added["id"] = "new_service"
    added["title"] = {"zh": "助老食堂", "en": "Seniors' canteen"}
    added["aliases"] = {"zh": ["老年食堂"], "en": ["elder canteen"]}
    edited = [*copy.deepcopy(entries[1:]), added]
    refreshed, full = refreshed_and_full(before, edited, sentences)
    assert snapshot(refreshed) == snapshot(full)
    assert refreshed.search_entries("助老食堂在哪")[0].key == "new_service"


def test_the_index_cache_refreshes_incrementally_after_a_staff_edit(kb_url, staff_fact, monkeypatch):
    """Through the one write path (kb.edits) and the shared cache (kb.index_cache), as the actions see it."""
    monkeypatch.setattr(index_cache, "REFRESH_WAIT", 30.0)
    first = index_cache.current_index(kb_url)
    with session_factory(kb_url)() as session, session.begin():
        add_staff_fact(session, "elder_allowance", staff_fact, "wang")
    refreshed = index_cache.current_index(kb_url)
    assert refreshed is not first
    assert refreshed.token_memo.cut == 1 and refreshed.token_memo.reused > 1
    assert "社保卡" in entry_document(refreshed.entry("elder_allowance"))
    with session_factory(kb_url)() as session:
        full = index_cache._build(session)
    assert snapshot(refreshed) == snapshot(full)
    with session_factory(kb_url)() as session, session.begin():
        revision = session.scalar(sa.select(Entry.revision).where(Entry.id == "elder_allowance"))
        update_entry(session, "elder_allowance", {"aliases": {"zh": ["老人补贴"], "en": []}}, revision, "wang")
    renamed = index_cache.current_index(kb_url)
    assert renamed.alias_hits("老人补贴怎么领") == ["elder_allowance"]
    with session_factory(kb_url)() as session:
        assert snapshot(renamed) == snapshot(index_cache._build(session))


def test_an_unchanged_kb_answers_from_the_cached_index_without_an_orm_session(kb_url, staff_fact, monkeypatch):
    """The version read of every question is one query on a pooled connection; an edit still shows next."""
    first = index_cache.current_index(kb_url)
    real_factory = index_cache.session_factory

    def no_session(*_args):
        raise AssertionError("an ORM session was made")

    monkeypatch.setattr(index_cache, "session_factory", no_session)
    assert index_cache.current_index(kb_url) is first
    monkeypatch.setattr(index_cache, "session_factory", real_factory)
    monkeypatch.setattr(index_cache, "REFRESH_WAIT", 30.0)
    with session_factory(kb_url)() as session, session.begin():
        add_staff_fact(session, "elder_allowance", staff_fact, "wang")
    assert index_cache.current_index(kb_url) is not first
