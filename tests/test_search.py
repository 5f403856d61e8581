"""Search over the KB: the right entry first for clear questions, nothing confident for unrelated ones."""

from __future__ import annotations

import jieba
import pytest

from bot import settings
from kb.search import KnowledgeIndex
from kb.text import Segmenter, tokens


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


def test_an_index_keeps_its_kb_terms_whole(index):
    assert "尊老金" in index.tokens("请问尊老金到底发了多少")


def test_building_an_index_leaves_jiebas_global_dictionary_alone(entries):
    """Each index has its own jieba.Tokenizer: the process-wide dictionary never learns KB terms."""
    term = "暖心饭卡测试词"
    entry = {**entries[0], "id": "warm_meal_card", "title": {"zh": term, "en": "Warm meal card"}}
    index = KnowledgeIndex([entry], [])
    assert term in index.tokens(f"我想领{term}")
    assert term not in jieba.lcut(f"我想领{term}")
    assert term not in Segmenter().cut(f"我想领{term}")


def test_names_of_retired_entries_leave_the_index(entries):
    """An index built without an entry neither segments nor finds its names."""
    elder = next(e for e in entries if e["id"] == "elder_allowance")
    with_it = KnowledgeIndex(entries, [])
    without = KnowledgeIndex([e for e in entries if e is not elder], [])
    assert "elder_allowance" in with_it.alias_hits("尊老金发了多少")
    assert without.alias_hits("尊老金发了多少") == [] and without.entry("elder_allowance") is None


def test_tokens_drop_question_words_and_stem_english():
    assert tokens("How many seniors received the allowance?") == ["senior", "receiv", "allow"]
    zh = tokens("请问尊老金发了多少")
    assert "请问" not in zh and "了" not in zh
    assert "尊老" in zh and "老金" in zh  # character bigrams, for typos


def test_names_of_two_entries_that_overlap_name_neither_for_sure(index):
    assert index.overlapping_names("How do I book a fire safety inspection?") == {"fire_safety", "safety_inspections"}
    assert index.overlapping_names("医保报销了多少") == set()  # 医保 is part of both names: generic, not a rival
    assert index.overlapping_names("fire safety and the elder allowance") == set()


@pytest.mark.parametrize(
    "question, entry",
    [
        ("I heard the medical insurance reimbursements added up to 40 million?", "medical_reimbursement"),
        ("How many day care centres are there?", "day_care_centres"),
        ("I still cannot get my paperwork done, who helps?", "banbucheng_window"),
        ("Where do I go when I can't get it done. Is there a window?", "banbucheng_window"),
    ],
)
def test_an_english_name_in_the_plural_still_names_its_entry(index, question, entry):
    assert (entry, True) in index.named(question)


def test_the_plural_rule_keeps_words_that_only_end_in_s():
    from kb.search import _name_form

    assert _name_form("companies, processes, bus status") == "company processe bus status"


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Did Zhitang inspect more companies than Dongbang town in 2022?", "safety_inspections"),
        ("How many fires actually broke out in Zhitang in 2022?", "fire_safety"),
    ],
)
def test_comparison_and_emphasis_words_do_not_steer_the_search(index, question, expected):
    """ "more than", "actually", "per" name no service: a fact's "more than 150" must not pull the question."""
    assert index.search_entries(question, k=1)[0].key == expected


@pytest.mark.parametrize(
    "question, spelled, expected",
    [
        ("did they close tutering schools", "did they close tutoring schools", "tutoring_closure"),
        ("which number fitnes month was it", "which number fitness month was it", "fitness_month"),
        (
            "how many people came to petiton the government",
            "how many people came to petition the government",
            "petitions",
        ),
    ],
)
def test_an_english_misspelling_the_kb_has_no_alias_for_is_read_as_the_kbs_word(index, question, spelled, expected):
    """The action's rewrite (bot/rewrite.py, spelling) gives the search the KB's word, as well covered as typed
    right."""
    assert index.rewrite(question) == spelled
    hits = index.search_entries(index.rewrite(question))
    assert hits[0].key == expected and hits[0].coverage >= settings.SEARCH_MIN_COVERAGE
