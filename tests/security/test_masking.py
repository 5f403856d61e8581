"""Finding 1: personal numbers are masked in every form a resident may type them, ordinary figures are not.

bot.privacy.mask is the one masking function of the gateway, Rasa's REST channel, the action server's
unanswered queue and the feedback table (tests/security/test_masking_entrances.py). A personal number keeps
its first 3 and last 4 characters (139****5678) so staff can still tell two apart; nothing else is changed.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.privacy import mask

# --- how residents write numbers --------------------------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
# Between two characters of a number: visible separators (ASCII, full-width, dashes, dots, spaces) and
# invisible ones (soft hyphen, Mongolian vowel separator, zero-width space and joiner, word joiner, BOM).
VISIBLE_SEPARATORS = [" ", "  ", "-", " - ", ".", "－", "．", "\u3000", "\u00a0", "–", "—", "−", "·"]
INVISIBLE_SEPARATORS = ["\u00ad", "\u180e", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
SEPARATORS = VISIBLE_SEPARATORS + INVISIBLE_SEPARATORS
# Text around the number: Chinese and English, ordinary figures included, never a digit next to the number.
BEFORE = [
    "",
    "我的手机号是",
    "身份证号：",
    "卡号",
    "2022年尊老金1428.35万元，我妈的号码",
    "受益老人21389人，请打",
    "my phone number is ",
    "ID card: ",
    "call me on ",
    "受理126095件。联系",
]
AFTER = ["", "，谢谢", "。", " thanks", "？2022年的尊老金多少", ", is 21389 right?", "办理了吗", " ok"]
ORDINARY = [
    "2022年发放尊老金1428.35万元",
    "受益老人21389人",
    "便民服务中心全年累计受理各类事项126095件",
    "2022年",
    "1428.35万元",
    "21389",
    "126095",
    "2022-12-31",
    "8:30-17:00",
    "3.5%",
    "打10086问过了",
    "服务电话0512-52510000",
    "第3季度",
    "1/2的老人",
    "12345678901",
]


@st.composite
def mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """(digits as written, the 11-digit mobile) with an optional country code."""
    number = "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    prefix = draw(st.sampled_from(["", "", "+86", "86", "0086", "+86 ", "0086-", "＋８６"]))
    return prefix + number, number


@st.composite
def ids(draw: st.DrawFn) -> tuple[str, str]:
    """An 18-character resident ID (check character X or a digit) or a 15-digit ID of the old kind."""
    area = draw(st.sampled_from("12345678")) + draw(st.text("0123456789", min_size=5, max_size=5))
    born = draw(st.dates(min_value=datetime.date(1900, 1, 1)))
    serial = draw(st.text("0123456789", min_size=3, max_size=3))
    if draw(st.booleans()):
        number = area + born.strftime("%Y%m%d") + serial + draw(st.sampled_from("0123456789Xx"))
    else:
        number = area + born.strftime("%y%m%d") + serial
    return number, number


@st.composite
def cards(draw: st.DrawFn) -> tuple[str, str]:
    """A 16- to 19-digit bank card."""
    head = draw(st.sampled_from(["62", "4", "5", "35", "9"]))
    length = draw(st.integers(16, 19))
    number = head + draw(st.text("0123456789", min_size=length - len(head), max_size=length - len(head)))
    return number, number


@st.composite
def written(draw: st.DrawFn, numbers: st.SearchStrategy[tuple[str, str]]) -> tuple[str, str, str]:
    """(the number as a resident typed it, its digits, the number masking keeps the ends of)."""
    raw, kept = draw(numbers)
    style = draw(st.sampled_from(["ascii", "full", "mixed"]))
    out = []
    for i, char in enumerate(raw):
        wide = style == "full" or (style == "mixed" and draw(st.booleans()))
        out.append(char.translate(FULL_WIDTH) if wide else char)
        if i < len(raw) - 1 and draw(st.integers(0, 3)) == 0:
            out.append(draw(st.sampled_from(SEPARATORS)))
    digits = re.sub(r"[^0-9Xx]", "", raw)
    return "".join(out), digits, kept


personal_numbers = st.one_of(written(mobiles()), written(ids()), written(cards()))


def digit_runs(text: str) -> list[str]:
    """The runs of digits in a text once full-width forms and the separators above are read away."""
    plain = unicodedata.normalize("NFKC", text)
    for sep in sorted(SEPARATORS, key=len, reverse=True):
        plain = plain.replace(unicodedata.normalize("NFKC", sep), "")
    return re.findall(r"[0-9Xx]+", plain)


def surviving_windows(original: str, masked_text: str, width: int = 7) -> list[str]:
    """Every run of `width` consecutive characters of the original number still readable in the text."""
    windows = {original[i : i + width] for i in range(len(original) - width + 1)}
    return sorted(w for w in windows for run in digit_runs(masked_text) if w in run)


def masked_form(kept: str) -> str:
    """First 3 and last 4 characters kept, the rest starred."""
    kept = unicodedata.normalize("NFKC", kept)
    return kept[:3] + "*" * (len(kept) - 7) + kept[-4:]


# --- the property ----------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(number=personal_numbers, before=st.sampled_from(BEFORE), after=st.sampled_from(AFTER))
@example(number=("１３８００１３８０００", "13800138000", "13800138000"), before="我的手机号是", after="")
@example(number=("0086 138 0013 8000", "008613800138000", "13800138000"), before="", after="")
@example(number=("138.0013.8000", "13800138000", "13800138000"), before="", after="")
@example(number=("138 00 13 8000", "13800138000", "13800138000"), before="", after="")
@example(number=("138－0013－8000", "13800138000", "13800138000"), before="", after="")
@example(number=("138\u00ad0013\u00ad8000", "13800138000", "13800138000"), before="", after="")
@example(number=("1380013\u180e8000", "13800138000", "13800138000"), before="", after="")
@example(number=("320581800101123", "320581800101123", "320581800101123"), before="身份证号：", after="")
def test_no_seven_digits_of_a_personal_number_survive_in_any_form(number, before, after):
    """Full-width, separated (visible or invisible), +86/0086-prefixed, in Chinese or English: masked."""
    typed, digits, kept = number
    text = before + typed + after
    masked = mask(text)
    assert surviving_windows(digits, masked) == [], f"{text!r} -> {masked!r}"
    assert masked_form(kept) in masked, f"{text!r} -> {masked!r}"
    assert masked.startswith(before) and masked.endswith(after), f"{text!r} -> {masked!r}"


@settings(max_examples=200, deadline=None, database=None)
@given(
    parts=st.lists(st.sampled_from(ORDINARY), min_size=1, max_size=5), glue=st.sampled_from(["，", "。", "、", " and "])
)
def test_ordinary_figures_residents_ask_about_are_left_alone(parts, glue):
    """Amounts, counts, years, dates, hours, hotlines and short numbers are not personal numbers."""
    text = glue.join(parts)
    assert mask(text) == text


@settings(max_examples=200, deadline=None, database=None)
@given(number=personal_numbers, figure=st.sampled_from(ORDINARY))
def test_a_figure_next_to_a_personal_number_is_kept(number, figure):
    """Masking the number leaves the figure in the same message as it was."""
    typed, _, _ = number
    masked = mask(f"{figure}，我的号码{typed}，{figure}")
    assert masked.startswith(f"{figure}，我的号码") and masked.endswith(f"，{figure}")


# --- the forms of the finding, one by one ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, masked",
    [
        ("我的手机号是１３８００１３８０００", "我的手机号是138****8000"),
        ("0086 138 0013 8000", "138****8000"),
        ("0086-13800138000", "138****8000"),
        ("+86 138 0013 8000", "138****8000"),
        ("＋８６１３８００１３８０００", "138****8000"),
        ("(+86) 138 0013 8000", "138****8000"),
        ("电话（＋８６）１３８－００１３－８０００", "电话138****8000"),
        ("138.0013.8000", "138****8000"),
        ("138 00 13 8000", "138****8000"),
        ("138－0013－8000", "138****8000"),
        ("138\u00ad0013\u00ad8000", "138****8000"),
        ("1380013\u180e8000", "138****8000"),
        ("138\u200b0013\u200b8000", "138****8000"),
        ("身份证号320581800101123", "身份证号320********1123"),
        ("身份证３２０５８１１９８００１０１１２３Ｘ", "身份证320***********123X"),
        ("卡号６２２２ ０２０２ ００００ １２３４", "卡号622*********1234"),
    ],
)
def test_each_form_of_the_finding_is_masked_to_first_three_and_last_four(text, masked):
    assert mask(text) == masked


def test_a_full_width_id_is_masked_not_deleted():
    """The resident's message keeps the ID's place, with the ends that tell staff which one it was."""
    masked = mask("我的身份证是３２０５８１１９８００１０１１２３Ｘ，帮我查尊老金")
    assert masked == "我的身份证是320***********123X，帮我查尊老金"
