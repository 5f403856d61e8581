"""Masking of Chinese ID numbers, mainland mobiles and bank cards; figures and dates are left alone."""

from __future__ import annotations

import pytest

from bot.privacy import mask


@pytest.mark.parametrize(
    "text, masked",
    [
        ("身份证320581198001011234", "身份证320***********1234"),
        ("身份证32058119800101123X。", "身份证320***********123X。"),
        ("id 32058119800101123x please", "id 320***********123x please"),
        ("320581 19800101 123X", "320***********123X"),
        ("手机13812345678", "手机138****5678"),
        ("call 19912345678.", "call 199****5678."),
        ("+86 138 1234 5678", "138****5678"),
        ("8613812345678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("卡号6222020200001234", "卡号622*********1234"),
        ("卡号6222 0202 0000 1234 567", "卡号622************4567"),
        ("6222-0202-0000-1234", "622*********1234"),
        ("ID32058119800101123Xabc", "ID320***********123Xabc"),
        ("两个号码13812345678和13987654321", "两个号码138****5678和139****4321"),
        ("62220202000012345678901", "622****************8901"),  # a card with digits too many is still one
    ],
)
def test_personal_numbers_are_masked(text, masked):
    """First 3 and last 4 characters kept, the rest starred; separators and +86 dropped."""
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2022年发放尊老金1428.35万元,受益老人21389人",
        "便民服务中心全年累计受理各类事项126095件",
        "12345678901",  # 11 digits but not a mobile (starts 12)
        "10086",
        "1234567890123",  # 13 digits: none of the three
        "2022-12-31",
        "0512-52510000",  # a town office's landline
    ],
)
def test_other_numbers_are_left_alone(text):
    """Figures, dates, landlines and short numbers are not personal numbers."""
    assert mask(text) == text
