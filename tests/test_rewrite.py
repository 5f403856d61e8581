"""Residents' words in the KB's words (bot/rewrite.py, kb/lexicon.py): dialect, pinyin, homophone typos."""

from __future__ import annotations

import pytest

from bot.pinyin import is_pinyin_text, syllables
from bot.rewrite import Phrase, Rewriter, name_table
from kb.lexicon import LEXICON_PATH, lexicon_problems, load_lexicon, rewrite_tables


@pytest.mark.parametrize(
    "word, expected",
    [("zunlaojin", ("zun", "lao", "jin")), ("yibao", ("yi", "bao")), ("xian", ("xian",)), ("hello", None), ("", None)],
)
def test_words_are_cut_into_the_fewest_pinyin_syllables(word, expected):
    assert syllables(word) == expected


@pytest.mark.parametrize(
    "text, pinyin",
    [
        ("zunlaojin fa le duoshao", True),
        ("yi bao zen me bao xiao", True),
        ("kua cun tong ban shi sha", True),
        ("qi pu tang yan he ti yu jian shen gong cheng xian zai shen me jin du", True),  # "he", "me" are pinyin too
        ("he and me went to the shop", False),
        ("ask him he is in", False),
        ("What is kua cun tong ban?", False),  # an English sentence naming a service in pinyin
        ("How much is zunlaojin", False),
        ("ban", False),  # one syllable is not enough to tell
        ("in English please", False),
        ("hello", False),
    ],
)
def test_pinyin_is_told_from_english(text, pinyin):
    assert is_pinyin_text(text) is pinyin


@pytest.fixture
def rewriter() -> Rewriter:
    return Rewriter(
        phrases=[Phrase("阿有", "有没有"), Phrase("伐", "吗", at_end=True), Phrase("勿", "不"), Phrase("啥", "什么")],
        names={"zunlaojin": "尊老金", "kuacuntongban": "跨村通办", "yibao": "医保"},
        words={"duoshao": "多少", "fa": "发", "le": "了", "shi": "是"},
    )


@pytest.mark.parametrize(
    "text, rewritten",
    [
        ("阿有尊老金伐", "有没有尊老金吗"),
        ("伐木工", "伐木工"),  # 伐 is a question particle only at the end
        ("办勿成", "办不成"),
        ("zunlaojin fa le duoshao", "尊老金发了多少"),
        ("zun lao jin fa le duo shao", "尊老金发了多少"),
        ("kua cun tong ban shi sha", "跨村通办是 sha"),  # an unknown syllable stays as typed
        ("What is kua cun tong ban?", "what is 跨村通办?"),  # names only, inside English
        ("How much is the allowance", "How much is the allowance"),
        ("fa le", "发了"),
    ],
)
def test_rewrite(rewriter, text, rewritten):
    assert rewriter.rewrite(text) == rewritten
    assert rewriter.rewrite(rewritten) == rewritten  # idempotent


def test_a_pinyin_shared_by_two_entries_names_neither():
    table = name_table(
        [("医保", ["yi", "bao"], "a"), ("一包", ["yi", "bao"], "b"), ("尊老金", ["zun", "lao", "jin"], "c")]
    )
    assert table == {"zunlaojin": "尊老金"}


@pytest.mark.parametrize(
    "typed, name",
    [("zunlaojing", "尊老金"), ("zhunlaojin", "尊老金"), ("kuachuntongban", "跨村通办"), ("zunlaojin", "尊老金")],
)
def test_a_wu_speakers_pinyin_still_finds_the_name(typed, name):
    rewriter = Rewriter(names={"zunlaojin": "尊老金", "kuacuntongban": "跨村通办"})
    assert rewriter.rewrite(f"how much {typed} was paid") == f"how much {name} was paid"


def test_names_that_fold_alike_are_found_only_by_their_own_pinyin():
    rewriter = Rewriter(names={"shangban": "上班", "sanban": "三班"})
    assert rewriter.rewrite("shangban and sanban ok") == "上班 and 三班 ok"
    assert rewriter.rewrite("sangban ok") == "sangban ok"  # folds to both: neither


def test_the_lexicon_is_well_formed_and_justified():
    """Every phrase says why it is there (the review rule of kb/source/lexicon.yml)."""
    data = load_lexicon(LEXICON_PATH)
    assert lexicon_problems(data) == []
    assert {"阿有", "伐", "屋里厢", "哪能", "啥个"} <= {p["from"] for p in data["colloquial"]}
    assert lexicon_problems({"colloquial": [{"from": "伐", "to": "吗"}]})  # no why


@pytest.mark.parametrize(
    "typed, fixed",
    [
        ("尊老近发了多少", "尊老"),  # 尊老金 or its typo alias: either names the entry
        ("日间找料中心有几个", "日间照料中心有几个"),
        ("法律故问在哪", "法律顾问在哪"),
        ("医宝报销了多少", "医保报销了多少"),
        ("我想办医保", "我想办医保"),
        ("一包烟多少钱", "一包烟多少钱"),  # a real word is no typo
    ],
)
def test_homophone_typos_of_the_kbs_names_are_fixed(index, typed, fixed):
    assert index.rewrite(typed).startswith(fixed)


def test_a_staff_alias_is_found_in_pinyin_at_once(entries):
    """The index makes the pinyin of the KB's names itself: no retraining for a new alias."""
    from kb.search import KnowledgeIndex

    entry = next(e for e in entries if e["id"] == "elder_allowance")
    entry["aliases"]["zh"].append("暖心补贴")
    index = KnowledgeIndex(entries, [])
    assert index.rewrite("nuan xin bu tie fa le duoshao") == "暖心补贴发了多少"
    assert index.alias_hits("nuanxinbutie") == [] and index.alias_hits(index.rewrite("nuanxinbutie")) == [
        "elder_allowance"
    ]


@pytest.mark.parametrize(
    "text, rewritten",
    [
        ("we fell out with the neighbours", "we fell out (dispute) with the neighbours"),
        ("I lost my job", "I lost my job (find a job)"),
        ("the town pays old people some money", "the town pays old people (elder allowance) some money"),
        (
            "went three times and still can't get it sorted",
            "went three times and still (can't get it done) can't get it sorted",
        ),
        ("the poor air quality", "the poor air quality"),  # only the listed everyday words, whole
        ("my landlord", "my landlord"),
    ],
)
def test_everyday_english_gets_the_kbs_term_added(index, text, rewritten):
    assert index.rewrite(text) == rewritten
    assert index.rewrite(rewritten) == rewritten


def test_each_english_term_the_lexicon_adds_is_in_the_kbs_names(index):
    """The term added after everyday words ("lost my job (find a job)") only helps the search if the KB's names
    hold it. It need not be a whole name: a whole name found in a story's context outweighs the question
    ("argue (dispute)" beside "does our village have a lawyer?")."""
    for group in load_lexicon(LEXICON_PATH).get("english") or []:
        term = group["to"]
        assert any(term in n.lower() for e in index.entries for n in [e["title"]["en"], *e["aliases"]["en"]]), term


@pytest.mark.parametrize(
    "text, rewritten",
    [
        ("wang ganchang guju jidian kaimen, yao yuyue ma", "王淦昌故居几点开门, 要预约吗"),
        ("changtongban zaina", "畅通办在哪"),
        ("yibao baoxiao jine duoshao", "医保报销金额多少"),
    ],
)
def test_the_question_words_of_a_pinyin_message_are_read(index, text, rewritten):
    assert index.rewrite(text) == rewritten


SPELLING = Rewriter(
    kb_words={
        "medical": 5,
        "insurance": 9,
        "pension": 3,
        "people": 4,
        "happen": 1,
        "happens": 2,
        "happened": 1,
        "which": 2,
        "with": 7,
        "heating": 1,
        "safety": 3,
        "reimbursement": 2,
    },
    english_words=frozenset({"hearing", "medial", "advise", "which", "with"}),
)


@pytest.mark.parametrize(
    "typed, corrected",
    [
        ("medcal", "medical"),  # a letter left out
        ("insurence", "insurance"),  # a wrong letter
        ("pensoin", "pension"),  # two letters swapped
        ("peple", "people"),
        ("reimbursment", "reimbursement"),
        ("reimbursmnet", "reimbursement"),  # two edits in a long word
        ("Safty", "safety"),  # capitals as typed
        ("happend", "happens"),  # three forms of one word as close: the KB's commonest
    ],
)
def test_a_misspelled_kb_word_is_corrected(typed, corrected):
    assert SPELLING.correction(typed) == corrected


@pytest.mark.parametrize(
    "typed",
    [
        "hearing",  # a real English word one letter from "heating": never changed
        "medial",  # a real word, even when it is likely a slip
        "wich",  # as close to "which" as to "with": no guess
        "xedical",  # a wrong first letter: not taken for "medical"
        "peo",  # too short to correct
        "yibao",  # pinyin
        "mdcl",  # too far
    ],
)
def test_a_real_word_pinyin_or_a_word_with_no_single_closest_is_left_alone(typed):
    assert SPELLING.correction(typed) is None


def test_a_misspelled_word_is_replaced_and_the_rest_kept():
    text = SPELLING.rewrite("Medcal insurence for old peple, hearing aids?")
    assert text == "medical insurance for old people, hearing aids?"
    assert SPELLING.rewrite(text) == text  # idempotent: the KB search may read rewritten text again


def test_the_kb_search_corrects_spelling_and_the_models_tables_do_not(entries):
    """The KB's search reads both word lists (the KB's own misspelled aliases count as known words); the tables
    kept with the model (`kb userdict`) have none: the NLU is trained on its examples as written."""
    assert "spelling" not in rewrite_tables(entries)
    tables = rewrite_tables(entries, spelling=True)
    spelling = tables["spelling"]
    assert len(spelling["english_words"]) > 50_000 and "hearing" in spelling["english_words"]
    assert "pension" in spelling["kb_words"] and "insurance" in spelling["kb_words"]
    assert Rewriter.from_tables(tables).rewrite("truck anual reveiw") == "truck annual review"
