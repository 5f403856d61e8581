"""Figures as the work reports write them ("1428.35万元", "21389人", "95%"): their number, unit and kind, their
English form as the entries write it ("14.2835 million", "21389", "95%"), and the difference of two.

Shared by the report import (kb.reports: which fact a new sentence updates, the English text of the update)
and the answers by year (actions.years: the computed difference). Decimal arithmetic, so 1500.6 - 1428.35 is
72.25 and never 72.24999.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Units by kind; a count's unit words that mean the same (人, 名, 位) are one unit for matching.
AMOUNT_UNITS = ("亿元", "万元", "元")
COUNT_UNITS = (
    "万人次",
    "人次",
    "万人",
    "人",
    "家次",
    "批次",
    "名",
    "位",
    "户",
    "家",
    "件",
    "个",
    "处",
    "次",
    "条",
    "台",
    "批",
    "项",
    "场",
    "所",
    "座",
    "辆",
    "套",
)
RATE_UNITS = ("%", "％", "微克/立方米")
SAME_UNIT = {"名": "人", "位": "人", "万人": "人", "％": "%"}

# A figure in a report's text: digits (thousands separated or not), an optional 多/余 ("30余万元"), a unit. Not
# part of a longer number ("21,389" is one), not a year (2023年), not an ordinal (第27次), not a span of time
# ("0.5个工作日").
FIGURE = re.compile(
    r"(?<![\d.第])(?<!\d,)(?<!\d，)(\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(多|余)?("
    + "|".join(AMOUNT_UNITS + COUNT_UNITS + RATE_UNITS)
    + ")(?!工作日|月|小时|季度|星期|百分点)"
)


@dataclass(frozen=True)
class Figure:
    """One figure: the text as written, its number, its unit, and its kind (amount, count, rate)."""

    text: str
    number: Decimal
    unit: str
    about: bool = False  # "多" or "余": more than the number

    @property
    def kind(self) -> str:
        """amount, count or rate, as kb.shape.FACT_KINDS name them."""
        if self.unit in AMOUNT_UNITS:
            return "amount"
        return "rate" if self.unit in RATE_UNITS else "count"

    @property
    def same_unit(self) -> str:
        """The unit, with words that count the same thing made one (名, 位 → 人)."""
        return SAME_UNIT.get(self.unit, self.unit)

    @property
    def english(self) -> str:
        """The figure as the English texts write it: millions of yuan for 万元 and 亿元, digits for counts."""
        return english(self.number, self.unit)


def figures_in(text: str) -> list[Figure]:
    """Every figure of a text, in order."""
    return [_figure(m) for m in FIGURE.finditer(text)]


def parse(text: str | None) -> Figure | None:
    """The figure a fact's `figure` field holds, if it is one this module reads."""
    found = FIGURE.search(text or "")
    return _figure(found) if found and found.group(0).strip() == (text or "").strip() else None


def _figure(match: re.Match[str]) -> Figure:
    number = Decimal(re.sub(r"[,，]", "", match.group(1)))
    return Figure(match.group(0), number, match.group(3), bool(match.group(2)))


def plain(number: Decimal) -> str:
    """A number without trailing zeros or exponent (14.2835, 72.25, 611)."""
    try:
        text = format(number.normalize(), "f")
    except InvalidOperation:
        return str(number)
    return text


def english(number: Decimal, unit: str) -> str:
    """The English form of a number in a unit, as the entries write figure_en."""
    if unit == "万元":
        return f"{plain(number / 100)} million"
    if unit == "亿元":
        return f"{plain(number * 100)} million"
    if unit in ("万人", "万人次"):
        return plain(number * 10000)
    if unit == "微克/立方米":
        return f"{plain(number)} micrograms per cubic metre"
    if unit in RATE_UNITS:
        return f"{plain(number)}%"
    return plain(number)


@dataclass(frozen=True)
class Difference:
    """The later figure minus the earlier one, in their unit (`number` may be negative)."""

    number: Decimal
    unit: str
    kind: str

    @property
    def zh(self) -> str:
        """The size of the difference as the Chinese texts write it (the unit's own word; 个百分点 for a rate)."""
        return plain(abs(self.number)) + ("个百分点" if self.unit in ("%", "％") else self.unit)

    @property
    def en(self) -> str:
        """The size of the difference in English ("0.7225 million", "611", "2.3 percentage points")."""
        if self.unit in ("%", "％"):
            return f"{plain(abs(self.number))} percentage points"
        return english(abs(self.number), self.unit)


def difference(later: str | None, earlier: str | None) -> Difference | None:
    """`later` minus `earlier`, two facts' figures; None unless both are figures of the same unit."""
    a, b = parse(later), parse(earlier)
    if a is None or b is None or a.same_unit != b.same_unit or a.unit != b.unit or a.about or b.about:
        return None
    return Difference(a.number - b.number, a.unit, a.kind)
