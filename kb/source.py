"""Load the reviewable YAML entries and check them against the report before they reach the DB."""

from __future__ import annotations

import re
import reprlib
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from kb.shape import FACT_KINDS, STAFF_FIELD_NAMES, EntryData, Pair
from kb.text import has_cjk

_SENTENCE_END = re.compile(r"(?<=[。！？])")


@dataclass(frozen=True)
class ReportMeta:
    """The report the facts quote, and the entry residents are sent to for a person (kb/source/report.yml)."""

    year: int
    title: Pair
    contact_entry: str | None = None
    published: date | None = None


def load_report_meta(path: Path) -> ReportMeta:
    """The metadata of the report; SourceError when it lacks a year or a title in both languages."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    title = data.get("title") or {}
    published = data.get("published")
    if not isinstance(data.get("year"), int) or not _pair(title) or not isinstance(published, (date, type(None))):
        raise SourceError(
            f"{path.name}: needs a year, a title with zh and en, and a date or null as published "
            "/ 需要年份、中英文标题,发布日期须为日期或留空"
        )
    return ReportMeta(
        year=data["year"],
        title=Pair(zh=title["zh"], en=title["en"]),
        contact_entry=data.get("contact_entry"),
        published=published,
    )


class SourceError(ValueError):
    """The YAML source breaks a rule; the message lists every problem."""


def report_sentences(report: str) -> list[str]:
    """The report split into sentences (ending with 。！？), blank ones dropped."""
    return [s.strip() for line in report.splitlines() for s in _SENTENCE_END.split(line) if s.strip()]


def sentence_of(quote: str, sentences: list[str]) -> str | None:
    """The report sentence that holds a quote verbatim (None if none does)."""
    return next((s for s in sentences if quote in s), None)


# The sentences a quote is checked against: one report's, or every report's by year (a fact names its own).
Sentences = list[str] | Mapping[int, list[str]]


def sentences_of_report(sentences: Sentences, year: Any) -> list[str]:
    """The sentences of the report of that year (of the one report when only one is given; of every report
    when the year is not given, as in an export made before reports by year)."""
    if not isinstance(sentences, Mapping):
        return sentences
    if year is None:
        return [s for found in sentences.values() for s in found]
    return list(sentences.get(year, [])) if isinstance(year, int) else []


def load_entries(entries_dir: Path) -> list[EntryData]:
    """Every entry of every `<topic>.yml` under the directory, in file order (as written: `validate` checks them)."""
    entries: list[EntryData] = []
    for path in sorted(entries_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise SourceError(f"{path.name}: expected a list of entries")
        for item in data:
            if isinstance(item, dict):
                item.setdefault("topic", path.stem)
            entries.append(item)
    return entries


def _pair(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(value.get(k), str) and value[k].strip() for k in ("zh", "en"))


_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Never in a web link as staff give it: what could end an HTML attribute, open a tag or hide characters.
_NOT_IN_LINK = set("<>\"'`\\{}|^")


def is_web_link(value: str) -> bool:
    """Whether a staff `link` is one full http(s) address a resident can open: scheme http or https, a host, no
    user name, no spaces, quotes, angle brackets, control or invisible characters (so no javascript:, data:,
    vbscript:, entity or whitespace tricks, and no relative path, which would resolve against the page the
    widget is embedded in)."""
    text = value.strip()
    if any(unicodedata.category(c)[0] in "CZ" or c in _NOT_IN_LINK for c in text):
        return False
    try:
        parts = urlsplit(text)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and parts.username is None
    except ValueError:  # a malformed host ("https://[x")
        return False


def entry_problems(entry: EntryData, sentences: Sentences, known_ids: set[str], from_report: bool = True) -> list[str]:
    """Problems of one entry in the YAML shape, each "where: problem / 中文" (empty when all is well).

    `sentences` are the report's, or every report's by year: then a quote is checked against the report its
    fact names (`report`), never against another year's.

    Used by the build (`from_report`: aliases, facts and a verbatim quote holding the figure are required)
    and by the staff admin (a staff fact has no quote; a quote, when there is one, must still be verbatim).
    """
    problems: list[str] = []
    eid = str(entry.get("id") or "")
    where = eid or "?"
    if not _ID.fullmatch(eid):
        problems.append(f"{where}: id must be snake_case / 编号只能用小写英文字母、数字和下划线")
    if not _ID.fullmatch(str(entry.get("topic") or "")):
        problems.append(f"{where}: topic must be snake_case / 请选择主题")
    for field, name in (("title", "标题"), ("summary", "简介")):
        if not _pair(entry.get(field)):
            problems.append(f"{where}: {field} needs zh and en / {name}需要中文和英文")
    # Read as the YAML gave them: these are the values being checked.
    aliases: Mapping[str, Any] = entry.get("aliases") or {}
    if from_report and (not aliases.get("zh") or not aliases.get("en")):
        problems.append(f"{where}: aliases need zh and en / 别名需要中文和英文")
    title: Mapping[str, Any] = entry.get("title") or {}
    summary: Mapping[str, Any] = entry.get("summary") or {}
    english = [title.get("en", ""), summary.get("en", "")]
    english += list(aliases.get("en") or [])
    situations: Mapping[str, Any] = entry.get("situations") or {}
    if not isinstance(situations, dict) or any(
        not isinstance(items, list) or not all(isinstance(s, str) and s.strip() for s in items)
        for items in situations.values()
    ):
        problems.append(f"{where}: situations need lists of texts for zh and en / 情境需要中文和英文的文字列表")
    elif set(situations) - {"zh", "en"}:
        problems.append(f"{where}: situations take only zh and en / 情境只有中文和英文")
    else:
        english += list(situations.get("en") or [])
    for rel in entry.get("related") or []:
        if rel == eid or rel not in known_ids:
            problems.append(f"{where}: related id {rel!r} does not exist / 相关条目不存在")
    for name in entry.get("staff") or {}:
        if name not in STAFF_FIELD_NAMES:
            problems.append(f"{where}: unknown staff field {name!r} / 未知的工作人员字段")
    staff = entry.get("staff") or {}
    link = staff.get("link") if isinstance(staff, dict) else None
    for lang, value in link.items() if isinstance(link, dict) else []:
        if value not in (None, "") and not is_web_link(str(value)):
            problems.append(
                f"{where}: link ({lang}) must be one full web address starting with http:// or https:// "
                f"/ 链接({'中文' if lang == 'zh' else '英文'})必须是以 http:// 或 https:// 开头的完整网址"
            )
    facts = [f for f in entry.get("facts") or [] if isinstance(f, dict)]
    if from_report and not facts:
        problems.append(f"{where}: no facts / 没有事实")
    keys = [f.get("key") for f in facts]
    for fact in facts:
        fwhere = f"{where}.{fact.get('key')}"
        key = fact.get("key")
        if not key or not _ID.fullmatch(str(key)) or keys.count(key) > 1:
            problems.append(f"{fwhere}: fact key missing, duplicate or not snake_case / 事实编号缺失、重复或格式不对")
        if fact.get("kind", "statement") not in FACT_KINDS:
            problems.append(f"{fwhere}: kind must be one of {sorted(FACT_KINDS)} / 类型不对")
        zh, en = str(fact.get("zh") or "").strip(), str(fact.get("en") or "").strip()
        quote = str(fact.get("quote") or "")
        if not zh or not en:
            problems.append(f"{fwhere}: needs zh and en text / 需要中文和英文内容")
        english.append(en)
        if from_report and not quote:
            problems.append(f"{fwhere}: needs a quote from the report / 需要工作报告的引文")
        elif quote and isinstance(sentences, Mapping) and fact.get("report") not in (None, *sentences):
            problems.append(f"{fwhere}: no report of the year {fact.get('report')!r} / 没有这一年的工作报告")
        elif quote and sentence_of(quote, sentences_of_report(sentences, fact.get("report"))) is None:
            problems.append(f"{fwhere}: quote is not verbatim in the report: {quote!r} / 引文不在工作报告原文中")
        figure = fact.get("figure")
        if figure not in (None, ""):
            figure = str(figure)
            if from_report and figure not in quote:
                problems.append(f"{fwhere}: figure {figure!r} is not in its quote / 数字不在引文里")
            if figure not in zh:
                problems.append(f"{fwhere}: figure {figure!r} is not in the zh text / 数字不在中文内容里")
        figure_en = fact.get("figure_en")
        if figure_en not in (None, "") and str(figure_en) not in en:
            problems.append(
                f"{fwhere}: figure_en {figure_en!r} is not in the en text (English figure) / 英文数字不在英文内容里"
            )
    for text in english:
        if has_cjk(str(text)):
            problems.append(f"{where}: English text holds Chinese characters: {text!r:.60} / 英文内容里有中文")
    return problems


def validate(entries: list[EntryData], report: str) -> list[str]:
    """Problems found in the entries (empty when all is well)."""
    sentences = report_sentences(report)
    # Counted once, in linear time (a count per entry was quadratic: 20 s for 20,000 entries).
    counts = Counter(e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str) and e["id"])
    known = set(counts)
    problems: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            problems.append(f"entry without a text id: {reprlib.repr(entry)}")  # reprlib: a bounded repr
            continue
        if counts[entry["id"]] > 1:
            problems.append(f"{entry['id']}: duplicate id / 编号重复")
        problems += entry_problems(entry, sentences, known)
    return problems


def load_checked(entries_dir: Path, report_path: Path) -> tuple[list[EntryData], str]:
    """Entries and report text, or SourceError listing every problem."""
    report = report_path.read_text(encoding="utf-8")
    entries = load_entries(entries_dir)
    problems = validate(entries, report)
    if problems:
        raise SourceError("the KB source is refused:\n  " + "\n  ".join(problems))
    return entries, report
