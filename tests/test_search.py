"""Search over the KB: the right entry first for clear questions, nothing confident for unrelated ones."""

from __future__ import annotations

import pytest

from actions.answering import detect_language
from bot import settings
from kb.text import add_words, tokens


@pytest.mark.parametrize(
    "question, expected",
    [
        ("尊老金发了多少", "elder_allowance"),
        ("受益老人有多少人", "elder_allowance"),
        ("医保报销实付金额多少", "medical_reimbursement"),
        ("矛盾纠纷调解了多少件", "dispute_mediation"),
        ("暑托班", "summer_day_camp"),
        ("家门口的暑托班", "summer_day_camp"),
        # traditional characters
        ("醫保報銷", "medical_reimbursement"),
        ("尊老金發了多少錢", "elder_allowance"),
        ("醫療保險報銷實付金額", "medical_reimbursement"),
        # English
        ("How many seniors received the elder allowance", "elder_allowance"),
        ("dispute mediation cases", "dispute_mediation"),
        ("How much medical insurance reimbursement was paid", "medical_reimbursement"),
        # typos
        ("尊佬金发了多少", "elder_allowance"),
        ("家门口的暑拖班", "summer_day_camp"),
        ("矛盾纠份调解", "dispute_mediation"),
        ("how much was the elder alowance", "elder_allowance"),
        ("medical reimbursment amount", "medical_reimbursement"),
    ],
)
def test_search_ranks_the_right_entry_first(index, question, expected):
    hits = index.search_entries(question)
    assert hits, question
    assert hits[0].key == expected, hits
    assert hits[0].coverage >= settings.SEARCH_MIN_COVERAGE / 2
    if len(hits) > 1:
        assert hits[0].score > hits[1].score


@pytest.mark.parametrize(
    "question, expected",
    [
        ("跨村通办", "cross_village_service"),
        ("我想问问跨村通办能办什么", "cross_village_service"),
        ("15分钟医保服务圈", "medical_insurance_service_circle"),
        ("What is the 15-minute medical insurance service circle?", "medical_insurance_service_circle"),
    ],
)
def test_alias_hits_find_named_services(index, question, expected):
    assert index.alias_hits(question)[0] == expected


def test_alias_hits_need_whole_english_words(index):
    # "mediation" is an alias of dispute_mediation; "premeditation" must not count as it.
    assert "dispute_mediation" in index.alias_hits("I need mediation")
    assert "dispute_mediation" not in index.alias_hits("premeditation")


@pytest.mark.parametrize("question", ["今天天气怎么样", "recommend a good restaurant", "asdkjh qwe"])
def test_unrelated_question_has_low_coverage(index, question):
    hits = index.search_entries(question)
    assert all(hit.coverage < settings.SEARCH_MIN_COVERAGE for hit in hits), hits
    assert index.alias_hits(question) == []


def test_tokens_keep_a_kb_term_whole_after_add_words():
    text = "请问尊老金到底发了多少"
    tokens(text)  # tokenised once before the word is known (may be cached)
    add_words(["尊老金"])
    assert "尊老金" in tokens(text)
    assert "尊老金" in tokens("尊老金发了多少")


def test_add_words_applies_to_text_seen_before():
    """A term added when the KB changes must segment whole even in a question already tokenised."""
    text = "我想领暖心饭卡"
    assert "暖心饭卡" not in tokens(text)
    add_words(["暖心饭卡"])
    assert "暖心饭卡" in tokens(text)


def test_tokens_drop_question_words_and_stem_english():
    assert tokens("How many seniors received the allowance?") == ["senior", "receiv", "allow"]
    zh = tokens("请问尊老金发了多少")
    assert "请问" not in zh and "了" not in zh
    assert "尊老" in zh and "老金" in zh  # character bigrams, for typos


@pytest.mark.parametrize(
    "text, lang",
    [
        ("尊老金发了多少", "zh"),
        ("How much is 尊老金 total?", "en"),
        ("医保 reimbursement 多少钱", "zh"),
        ("hello", "en"),
        ("What is 跨村通办?", "en"),
        ("尊老金發了多少錢", "zh"),
        ("We are new residents (新市民) from Anhui, does the town arrange school places?", "en"),
        ("我想问 elder allowance 的 amount", "zh"),
        ("尊老金", "zh"),
    ],
)
def test_detect_language(index, text, lang):
    assert detect_language(text, index) == lang


def test_detect_language_without_index_weighs_chinese_characters_against_english_words():
    assert detect_language("How much is 尊老金 total?") == "en"  # 3 characters, 4 words
    assert detect_language("尊老金 how much") == "zh"  # 3 characters, 2 words
    assert detect_language("hello") == "en"
