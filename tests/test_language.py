"""The one language rule (bot/language.py), as Rasa's LanguageDetector, the actions and the gateway use it."""

from __future__ import annotations

import pytest

from bot.language import accept_language, message_language, reply_language, requested_language, text_language

NAMES = ["尊老金", "跨村通办", "新市民", "医保"]


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
        ("👍", None),
        ("123", None),
        ("   ", None),
        ("？？", None),
        ("zunlaojin fa le duoshao", "zh"),  # pinyin is Chinese typed without characters
        ("kua cun tong ban shi sha", "zh"),
        ("What is kua cun tong ban?", "en"),
        ("hang on", "en"),
    ],
)
def test_text_language_with_the_kbs_names(text, lang):
    assert text_language(text, NAMES) == lang


def test_without_names_chinese_characters_are_weighed_against_english_words():
    assert text_language("How much is 尊老金 total?") == "en"  # 3 characters, 4 words
    assert text_language("尊老金 how much") == "zh"  # 3 characters, 2 words
    assert text_language("What is 跨村通办?") == "zh"  # 4 characters, 2 words: the names make it English


@pytest.mark.parametrize(
    "text, lang",
    [
        ("英文说一下", "en"),
        ("请用英语回答", "en"),
        ("in English please", "en"),
        ("Can you say that in Chinese?", "zh"),
        ("请用中文回答", "zh"),
        ("说普通话", "zh"),
        ("Answer in 中文 please - how many lectures?", "zh"),
        ("reply in 英文", "en"),
        ("英文再讲一遍", "en"),
        ("中文再说一遍", "zh"),
        ("英文名字叫什么", None),  # names a language, asks for nothing
        ("I speak Chinese and English", None),
    ],
)
def test_requests_for_a_language(text, lang):
    assert requested_language(text) == lang


def test_a_request_outweighs_the_language_it_is_written_in():
    assert message_language("英文说一下") == "en"
    assert message_language("Please answer in Chinese") == "zh"


def test_payloads_carry_the_language_chosen_in_the_widget():
    assert message_language("/greet", chosen="en") == "en"
    assert message_language("/ask_elder_allowance", chosen="zh") == "zh"
    assert message_language("/greet") is None  # keeps the conversation's language
    assert message_language("/greet", chosen="fr") is None


def test_typed_text_outweighs_the_widget_choice():
    assert message_language("How much is the elder allowance?", chosen="zh") == "en"
    assert message_language("👍", chosen="en") is None  # emoji: the conversation keeps its language


def test_gateway_reply_language_falls_back_from_text_to_choice_to_header():
    assert reply_language("hello", "zh", header="zh-CN") == "en"
    assert reply_language("  ", "en", header="zh-CN") == "en"
    assert reply_language(None, "xx", header="fr-FR,en;q=0.5") == "en"
    assert reply_language(None, None, header=None) == "zh"
    assert accept_language("en;q=0.2, zh-TW;q=0.9") == "zh"
    assert accept_language("fr, de") is None
