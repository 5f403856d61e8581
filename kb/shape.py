"""The one shape of a KB entry, as the YAML source, staff edits, admin forms, export/import and the actions
all see it; and the one list of staff-only fields.

The database columns (kb.models) and the admin form fields are generated from `STAFF_FIELDS`, so adding a
staff field is one `StaffField(...)` line here plus an Alembic migration (`make migration MSG=...`).
The checks of this shape live in one function too: `kb.source.entry_problems`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

Lang = Literal["zh", "en"]
FactKind = Literal["amount", "count", "rate", "statement"]
FACT_KINDS: tuple[FactKind, ...] = ("amount", "count", "rate", "statement")
Source = Literal["report", "staff"]  # who gave an entry or a fact: the work report, or staff


class Pair(TypedDict):
    """One text in both languages."""

    zh: str
    en: str


class Words(TypedDict):
    """Words in both languages (aliases, keywords)."""

    zh: list[str]
    en: list[str]


class OptionalPair(TypedDict, total=False):
    """A staff-only field's value: either language may be missing."""

    zh: str | None
    en: str | None


class FactData(TypedDict, total=False):
    """One figure or statement of an entry. Report facts carry their verbatim `quote`; staff facts don't."""

    key: str
    kind: FactKind
    figure: str | None  # as written in the zh text and in the quote ("1428.35万元"); None or "": no figure
    figure_en: str | None  # as written in the en text ("14.2835 million")
    zh: str
    en: str
    keywords: Words
    quote: str
    source: Source
    created_by: str
    created_at: str  # ISO 8601
    sentence: str  # the whole report sentence holding the quote (read from the KB, not written in YAML)


class EntryData(TypedDict, total=False):
    """A resident-facing service or fact from the report, with staff-only details."""

    id: str
    topic: str
    title: Pair
    summary: Pair
    aliases: Words
    situations: Words  # how residents describe the need without naming the service (search, NLU examples)
    related: list[str]
    facts: list[FactData]
    staff: dict[str, OptionalPair]  # name from STAFF_FIELDS -> value
    retired: bool
    updated_by: str  # read from the KB, not written in YAML
    updated_at: str


class EntryMeta(TypedDict, total=False):
    """An exported entry's bookkeeping; on import, `revision` guards against overwriting a later admin change."""

    revision: int
    source: Source
    staff_edited: bool
    updated_by: str
    updated_at: str | None


class ExportedEntry(EntryData, total=False):
    """An entry as `python -m kb export` writes it and the import reads it: the shape above plus `meta`."""

    meta: EntryMeta


@dataclass(frozen=True)
class StaffField:
    """A detail only staff can give (the report never does); the bot never invents one."""

    name: str
    label: Pair  # how residents and staff read its name
    asks: str  # a regular expression of the words that ask for it in a question
    long: bool = False  # several lines in the admin form


STAFF_FIELDS: tuple[StaffField, ...] = (
    StaffField(
        "office",
        Pair(zh="办理部门", en="office in charge"),
        r"哪个部门|什么部门|哪个单位|负责部门|which (office|department)|office in charge|department",
    ),
    StaffField(
        "address",
        Pair(zh="地址", en="address"),
        r"地址|在哪|哪里|在什么地方|怎么走|怎么去|位置|哪儿|address|where|location|located|directions|"
        r"how (do|can) i get to|how to get (to|there)",
        long=True,
    ),
    StaffField(
        "hours",
        Pair(zh="办公时间", en="opening hours"),
        r"几点|办公时间|开放时间|上班时间|营业时间|工作时间|开门|关门|营业|工作日|周末|什么时候开|"
        r"opening hours|office hours|hours|what time|when (is|are) .*open|open on|closed on",
    ),
    StaffField(
        "phone",
        Pair(zh="联系电话", en="phone number"),
        # "电话咨询" / "phone consultations" are services, not a request for a number.
        r"电话(?!咨询)|号码|手机号|联系方式|联系人|热线|打给|打什么|phone(?! consult)|telephone(?! consult)|hotline|"
        r"mobile number|contact number|contact details|number to call|(who|what number) (do|can|should) i call",
    ),
    StaffField(
        "documents",
        Pair(zh="所需材料", en="documents needed"),
        r"材料|证件|带什么|需要带|资料|身份证|户口本|documents?|papers|bring|certificate|paperwork",
        long=True,
    ),
    StaffField(
        "how_to_apply",
        Pair(zh="办理方式", en="how to apply"),
        r"怎么申请|如何申请|怎么办理|如何办理|怎么领|怎么报名|如何报名|在哪申请|去哪办|申请流程|手续|流程|"
        r"how (do|can|to) (i |we )?(apply|register|sign up|join|enrol|enroll)|apply|application|sign up|"
        r"sign (me|him|her|them|my \w+|our \w+) up|报名|怎么参加|如何参加|怎么加入",
        long=True,
    ),
    StaffField(
        "eligibility",
        Pair(zh="申领条件和标准", en="eligibility and individual rates"),
        r"多少岁|几岁|年龄|岁以上|条件|资格|符合|每个月|一个月|每月|每人|每年能|一年要交|要交多少|交多少|能拿多少|"
        r"能领多少|收多少|可以领多少|标准是|收费|费用|门票|要钱|不要钱|收钱|免费|谁可以|哪些人可以|what age|how old|"
        r"age limit|eligib|qualif|per month|per person|per year|each month|each person|how much (do|will|can) i|fee|"
        r"price|ticket|charge|who can|is it free|free of charge|does it cost|cost anything",
        long=True,
    ),
    StaffField(
        "link",
        Pair(zh="网上办理链接", en="web link"),
        r"网址|链接|网站|网上办|小程序|公众号|微信号|邮箱|website|link|url|online|wechat|e-?mail",
    ),
)
STAFF_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in STAFF_FIELDS)
# The order a question's words are matched in (the first field asked for wins): as before the restructure.
ASKED_ORDER: tuple[str, ...] = (
    "phone",
    "address",
    "hours",
    "documents",
    "how_to_apply",
    "eligibility",
    "link",
    "office",
)


_BY_NAME = {f.name: f for f in STAFF_FIELDS}


def staff_field(name: str) -> StaffField:
    """The definition of one staff field (KeyError for an unknown name)."""
    return _BY_NAME[name]
