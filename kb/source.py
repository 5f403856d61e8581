"""Load the reviewable YAML entries and check them against the report before they reach the DB."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from kb.models import STAFF_FIELDS
from kb.text import has_cjk

FACT_KINDS = {"amount", "count", "rate", "statement"}
_SENTENCE_END = re.compile(r"(?<=[。！？])")


class SourceError(ValueError):
    """The YAML source breaks a rule; the message lists every problem."""


def report_sentences(report: str) -> list[str]:
    """The report split into sentences (ending with 。！？), blank ones dropped."""
    return [s.strip() for line in report.splitlines() for s in _SENTENCE_END.split(line) if s.strip()]


def sentence_of(quote: str, sentences: list[str]) -> str | None:
    """The report sentence that holds a quote verbatim (None if none does)."""
    return next((s for s in sentences if quote in s), None)


def load_entries(entries_dir: Path) -> list[dict[str, Any]]:
    """Every entry of every `<topic>.yml` under the directory, in file order."""
    entries: list[dict[str, Any]] = []
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


def validate(entries: list[dict[str, Any]], report: str) -> list[str]:
    """Problems found in the entries (empty when all is well)."""
    problems: list[str] = []
    sentences = report_sentences(report)
    ids = [e.get("id") for e in entries if isinstance(e, dict)]
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("id"):
            problems.append(f"entry without an id: {entry!r:.80}")
            continue
        eid = entry["id"]
        where = f"{eid}"
        if ids.count(eid) > 1:
            problems.append(f"{where}: duplicate id")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", eid):
            problems.append(f"{where}: id must be snake_case")
        for field in ("title", "summary"):
            if not _pair(entry.get(field)):
                problems.append(f"{where}: {field} needs zh and en")
        aliases = entry.get("aliases") or {}
        if not aliases.get("zh") or not aliases.get("en"):
            problems.append(f"{where}: aliases need zh and en")
        english = [entry.get("title", {}).get("en", ""), entry.get("summary", {}).get("en", "")]
        english += list(aliases.get("en") or [])
        for rel in entry.get("related") or []:
            if rel not in ids:
                problems.append(f"{where}: related id {rel!r} does not exist")
        for name in entry.get("staff") or {}:
            if name not in STAFF_FIELDS:
                problems.append(f"{where}: unknown staff field {name!r}")
        facts = entry.get("facts") or []
        if not facts:
            problems.append(f"{where}: no facts")
        keys = [f.get("key") for f in facts if isinstance(f, dict)]
        for fact in facts:
            fwhere = f"{where}.{fact.get('key')}"
            if keys.count(fact.get("key")) > 1 or not fact.get("key"):
                problems.append(f"{fwhere}: fact key missing or duplicate")
            if fact.get("kind", "statement") not in FACT_KINDS:
                problems.append(f"{fwhere}: kind must be one of {sorted(FACT_KINDS)}")
            zh, en, quote = fact.get("zh") or "", fact.get("en") or "", fact.get("quote") or ""
            if not zh or not en:
                problems.append(f"{fwhere}: needs zh and en text")
            english.append(en)
            if not quote:
                problems.append(f"{fwhere}: needs a quote from the report")
            elif sentence_of(quote, sentences) is None:
                problems.append(f"{fwhere}: quote is not verbatim in the report: {quote!r}")
            figure = fact.get("figure")
            if figure is not None:
                figure = str(figure)
                if figure not in quote:
                    problems.append(f"{fwhere}: figure {figure!r} is not in its quote")
                if figure not in zh:
                    problems.append(f"{fwhere}: figure {figure!r} is not in the zh text")
            figure_en = fact.get("figure_en")
            if figure_en is not None and str(figure_en) not in en:
                problems.append(f"{fwhere}: figure_en {figure_en!r} is not in the en text")
        for text in english:
            if has_cjk(str(text)):
                problems.append(f"{where}: English text holds Chinese characters: {text!r:.60}")
    return problems


def load_checked(entries_dir: Path, report_path: Path) -> tuple[list[dict[str, Any]], str]:
    """Entries and report text, or SourceError listing every problem."""
    report = report_path.read_text(encoding="utf-8")
    entries = load_entries(entries_dir)
    problems = validate(entries, report)
    if problems:
        raise SourceError("the KB source is refused:\n  " + "\n  ".join(problems))
    return entries, report
