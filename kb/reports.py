"""A new year's work report, brought in by staff: proposals first, changes only when a staff member accepts.

`propose` reads the report's text and, changing nothing, proposes
- updates: a report fact of an entry whose figure the new report gives for its year (the new sentence beside
  the old fact), matched by the entry's names in the sentence, the words around the figure (compared with the
  old quote's), the fact's keywords, and the figure's unit and kind (万元 with 万元, 人 with 人, % with %);
- new facts: a figure in a clause that names an entry but updates none of its facts;
- new entries: a figure in a sentence for residents (kb.reports.RESIDENT_WORDS) that no entry covers.

`accept` writes one proposal through kb.edits (one revision, who and when, the KB version moved); the report
itself (year, title, date, text, sentences) is stored with the first proposal accepted. Quotes are verbatim
clauses of the report and every figure is in its quote; the new fact of an update is the old fact's text
with the figure and the year replaced, and its English is written only when the old English figure is the
one kb.figures would write (else staff write it: `needs_english`). The old year's fact stays, in the same
series (kb.queries.by_series), so answers lead with the newest year and give the earlier one on request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.privacy import mask
from kb.build import record_report, to_dict
from kb.edits import StaffError, create_entry, new_entry_id, update_entry
from kb.figures import Figure, figures_in, parse
from kb.models import Entry, Report
from kb.queries import active_entries, kb_meta
from kb.search import KnowledgeIndex
from kb.shape import EntryData, FactData, Pair
from kb.source import ReportMeta

ProposalKind = Literal["update", "new_fact", "new_entry"]
MAX_REPORT_CHARS = 200_000  # a town's work report is some 10,000 characters
# How sure a match must be (0..1) to propose an update: precision over recall, a missed update is still
# proposed as a new fact or found by staff, a wrong one would put a figure under the wrong service.
UPDATE_MIN = 0.45
# Words of a sentence about a service residents use (a candidate new entry); industry and party work are not.
RESIDENT_WORDS = (
    "居民", "群众", "市民", "村民", "老人", "老年", "妇女", "儿童", "学生", "困难", "残疾", "免费", "补贴",
    "救助", "助学", "就业", "岗位", "医保", "医疗", "养老", "公交", "出行", "服务点", "办理", "窗口",
)  # fmt: skip
_SENTENCE = re.compile(r"(?<=[。；;！!？?])|\n")
_PIECE = re.compile(r"(?<=[,，、])")
_CHARS = re.compile(r"[\u3400-\u9fffA-Za-z]")


@dataclass
class Proposal:
    """One change the new report suggests; nothing is written until staff accept it."""

    id: str  # stable for the same report text (the admin's accept buttons name it)
    kind: ProposalKind
    sentence: str  # the report's sentence, verbatim
    quote: str  # the clause holding the figure, verbatim: the new fact's quote
    figure: str  # as written in the quote
    fact_kind: str  # amount | count | rate
    score: float
    entry_id: str | None = None
    fact_key: str | None = None  # the fact updated
    old: dict[str, Any] | None = None  # the fact updated, as the bot has it (zh, en, figure, quote, report)
    fact: FactData | None = None  # the fact it would add (texts drafted; English only when derivable)

    @property
    def needs_english(self) -> bool:
        """True when staff must write the English text before it can be accepted."""
        return self.fact is None or not self.fact.get("en")

    def highlighted(self) -> tuple[str, str, str]:
        """The sentence cut around the figure in its quote: (before, figure, after), for highlighting."""
        start = self.sentence.find(self.quote)
        at = self.sentence.find(self.figure, max(start, 0))
        return self.sentence[:at], self.figure, self.sentence[at + len(self.figure) :]


# How a text says it is not a real report, in its first lines (a test fixture's banner).
_MADE_UP = re.compile(r"虚构|编造的|测试用|仅供测试|made[- ]up|test fixture|fictional|not a real report", re.I)


@dataclass
class Plan:
    """What a report would change: its metadata and the proposals, updates first."""

    meta: ReportMeta
    text: str
    proposals: list[Proposal] = field(default_factory=list)
    sentences: int = 0

    @property
    def made_up(self) -> bool:
        """True when the text says at its top that it is invented or a test fixture: staff are warned before
        its figures are cited to residents as the town's."""
        return bool(_MADE_UP.search(self.text[:300]))

    def of_kind(self, kind: ProposalKind) -> list[Proposal]:
        """The proposals of one kind."""
        return [p for p in self.proposals if p.kind == kind]

    def get(self, proposal_id: str) -> Proposal:
        """One proposal by id (StaffError when the report no longer proposes it: accepted, or changed)."""
        found = next((p for p in self.proposals if p.id == proposal_id), None)
        if found is None:
            raise StaffError("这条建议已处理或已不存在 / This proposal was accepted already or no longer exists")
        return found


def split_sentences(text: str) -> list[str]:
    """The report cut at 。；！？ (and ; ! ?) and line breaks, blank ones dropped."""
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def clauses(sentence: str) -> list[tuple[str, list[Figure]]]:
    """The clauses of a sentence that hold figures, each with its figures: the sentence cut at its commas and
    enumeration commas, a clause without a figure joined to the next one ("全年下拨公共卫生、社区卫生经费1230万元")."""
    out: list[tuple[str, list[Figure]]] = []
    pending = ""
    for piece in _PIECE.split(sentence):
        found = figures_in(piece)
        if not found:
            pending = pending + piece if piece.endswith("、") else piece
            continue
        quote = (pending + piece).strip().rstrip(",，、;；。").strip()
        out.append((quote, found))
        pending = ""
    return out


def _bigrams(text: str) -> set[str]:
    chars = "".join(_CHARS.findall(text))
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


def _context(quote: str, figure: str) -> set[str]:
    return _bigrams(quote.replace(figure, " "))


def similarity(new: set[str], old: set[str]) -> float:
    """How alike two clauses are around their figures: half Dice, half how much of the old clause is back."""
    if not new or not old:
        return 0.0
    common = len(new & old)
    return 0.5 * (2 * common / (len(new) + len(old))) + 0.5 * common / len(old)


def _meta(year: int, title: Pair | None, published: date | None, base: Report | None) -> ReportMeta:
    if not title or not title.get("zh") or not title.get("en"):
        if base is None:
            raise StaffError("请填写报告标题(中文和英文) / Give the report's title in Chinese and English")
        old = str(base.year)
        title = Pair(zh=base.title_zh.replace(old, str(year)), en=base.title_en.replace(old, str(year)))
    return ReportMeta(year=year, title=title, published=published)


def check_text(text: str) -> str:
    """The report's text, or StaffError: empty, too long, or not text."""
    text = (text or "").replace("\r\n", "\n").replace("\ufeff", "").strip()
    if not text or not _CHARS.search(text):
        raise StaffError("报告是空的 / The report is empty")
    if len(text) > MAX_REPORT_CHARS:
        raise StaffError(f"报告太长(最多 {MAX_REPORT_CHARS} 字)/ The report is too long (at most {MAX_REPORT_CHARS})")
    return text


def propose(session: Session, text: str, year: int, title: Pair | None = None, published: date | None = None) -> Plan:
    """The proposals of a report for `year` (nothing is written). StaffError for a bad year or text, or a
    report of that year already in the KB with another text."""
    text = check_text(text)
    if not 1900 <= int(year) <= 2100:
        raise StaffError("年份不对 / The year is not right")
    year = int(year)
    reports = {r.year: r for r in session.scalars(select(Report))}
    stored = reports.get(year)
    if stored is not None and stored.text is not None and stored.text.strip() != text:
        raise StaffError(f"知识库里已有{year}年的另一份报告 / The KB has another report for {year} already")
    base = min(reports.values(), key=lambda r: r.year) if reports else None
    if stored is not None:
        title = title or Pair(zh=stored.title_zh, en=stored.title_en)
        published = published or stored.published
    plan = Plan(_meta(year, title, published, base), text)
    entries = active_entries(session)
    # Its own index, not the bot's shared cache (kb.index_cache): the KB is about to change, and the bot's
    # cache would then rebuild for the next resident's question anyway.
    index = KnowledgeIndex(entries, [], kb_meta(session))
    sentences = split_sentences(text)
    plan.sentences = len(sentences)
    plan.proposals = _proposals(sentences, entries, index, year)
    return plan


def _quoted_already(entries: list[dict[str, Any]], year: int) -> set[str]:
    return {m["quote"] for e in entries for f in e["facts"] for m in f["by_year"] if m.get("report") == year}


def _proposals(sentences: list[str], entries: list[dict[str, Any]], index: KnowledgeIndex, year: int) -> list[Proposal]:
    done = _quoted_already(entries, year)
    # The facts a new figure can update: report facts with a figure this module reads, without this year yet.
    targets = []
    for entry in entries:
        units = [parse(f.get("figure")) for f in entry["facts"]]
        for fact in entry["facts"]:
            old = _closest(fact, year)
            figure = parse(old.get("figure")) if old else None
            if old is None or figure is None or any(m.get("report") == year for m in fact["by_year"]):
                continue
            alone = sum(1 for u in units if u is not None and u.same_unit == figure.same_unit) == 1
            targets.append((entry, fact, old, figure, _context(old["quote"], old["figure"]), alone))
    scored: list[tuple[float, int, int, str, str, Figure, dict, dict, dict]] = []
    found: list[tuple[str, str, Figure, list[tuple[str, bool]]]] = []
    for sentence in sentences:
        sentence_names = {eid for eid, specific in index.named(sentence) if specific}
        for quote, figures in clauses(sentence):
            if quote in done:
                continue
            quote_names = index.named(quote)
            for figure in figures:
                n = len(found)
                found.append((sentence, quote, figure, quote_names))
                context = _context(quote, figure.text)
                named_here = {eid for eid, specific in quote_names if specific}
                for t, (entry, fact, old, old_figure, old_context, alone) in enumerate(targets):
                    if old_figure.unit != figure.unit:
                        continue
                    in_sentence = entry["id"] in sentence_names
                    score = 0.6 * similarity(context, old_context)
                    score += 0.25 * in_sentence + 0.15 * (entry["id"] in named_here)
                    score += 0.1 * any(len(w) > 1 and w in quote for w in fact["keywords"]["zh"])
                    score += 0.15 * (alone and in_sentence)
                    if score >= UPDATE_MIN:
                        scored.append((score, n, t, sentence, quote, figure, entry, fact, old))
    proposals: list[Proposal] = []
    used_figures: set[int] = set()
    used_targets: set[int] = set()
    for score, n, t, sentence, quote, figure, entry, fact, old in sorted(scored, key=lambda s: -s[0]):
        if n in used_figures or t in used_targets:
            continue
        used_figures.add(n)
        used_targets.add(t)
        proposals.append(_update(sentence, quote, figure, entry, fact, old, year, score))
    for n, (sentence, quote, figure, quote_names) in enumerate(found):
        if n in used_figures:
            continue
        named = [eid for eid, specific in quote_names if specific and index.entry(eid) is not None]
        if named:
            proposals.append(_new_fact(sentence, quote, figure, index.entry(named[0]) or {}, year))
        elif any(word in sentence for word in RESIDENT_WORDS) and not index.named(sentence):
            proposals.append(_new_entry(sentence, quote, figure, year))
    order = {"update": 0, "new_fact": 1, "new_entry": 2}
    return sorted(proposals, key=lambda p: (order[p.kind], sentences.index(p.sentence)))


def _closest(fact: dict[str, Any], year: int) -> dict[str, Any] | None:
    """The year of a fact's series closest to `year` (the one a new figure is compared with), report facts only."""
    members = [m for m in fact["by_year"] if m.get("report") is not None and m.get("quote") and m.get("figure")]
    return min(members, key=lambda m: abs(m["report"] - year), default=None)


def _id(*parts: Any) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:12]


def _replace_once(text: str, old: str, new: str) -> str | None:
    return text.replace(old, new) if old and text.count(old) == 1 else None


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+(?:\.\d+)?", text)


def _draft(text: str, old_figure: str, new_figure: str, old_year: int, year: int, quote: str) -> str | None:
    """The old text with the new figure and year; None unless the old figure was in it once and every number
    left is the year's or the new quote's ("PM2.5"): a text with another figure of the old year needs staff."""
    replaced = _replace_once(text, old_figure, new_figure)
    if replaced is None:
        return None
    replaced = replaced.replace(str(old_year), str(year))
    allowed = set(_numbers(new_figure)) | set(_numbers(quote)) | {str(year)}
    return replaced if set(_numbers(replaced)) <= allowed else None


def _update(
    sentence: str,
    quote: str,
    figure: Figure,
    entry: dict[str, Any],
    fact: dict[str, Any],
    old: dict[str, Any],
    year: int,
    score: float,
) -> Proposal:
    old_figure = parse(old["figure"])
    zh = _draft(old["zh"], old["figure"], figure.text, old["report"], year, quote)
    en = None
    figure_en = None
    if old_figure is not None and old.get("figure_en") == old_figure.english:
        figure_en = figure.english
        en = _draft(old["en"], old["figure_en"], figure_en, old["report"], year, quote)
    series = fact.get("series") or fact["key"]
    new: FactData = {
        "key": _new_key(entry, f"{series}_{year}"),
        "series": series,
        "kind": old["kind"],
        "figure": figure.text,
        "figure_en": figure_en if en else None,
        "zh": zh or quote,
        "en": en or "",
        "keywords": old["keywords"],
        "quote": quote,
        "report": year,
    }
    return Proposal(
        _id("update", entry["id"], fact["key"], quote, figure.text),
        "update",
        sentence,
        quote,
        figure.text,
        figure.kind,
        round(score, 3),
        entry["id"],
        fact["key"],
        {k: old.get(k) for k in ("key", "zh", "en", "figure", "figure_en", "quote", "sentence", "report")},
        new,
    )


def _new_key(entry: dict[str, Any], stem: str) -> str:
    taken = {m["key"] for f in entry.get("facts", []) for m in f.get("by_year", [f])}
    key, n = stem, 1
    while key in taken:
        n += 1
        key = f"{stem}_{n}"
    return key


def _quoted_fact(key: str, quote: str, figure: Figure, year: int) -> FactData:
    """A new fact as a proposal drafts it: the quote is its Chinese text, the English is left to staff."""
    return {
        "key": key,
        "kind": figure.kind,  # type: ignore[typeddict-item]  # amount | count | rate
        "figure": figure.text,
        "zh": quote,
        "en": "",
        "keywords": {"zh": [], "en": []},
        "quote": quote,
        "report": year,
    }


def _new_fact(sentence: str, quote: str, figure: Figure, entry: dict[str, Any], year: int) -> Proposal:
    fact = _quoted_fact(_new_key(entry, f"{figure.kind}_{year}"), quote, figure, year)
    return Proposal(
        _id("new_fact", entry.get("id"), quote, figure.text),
        "new_fact",
        sentence,
        quote,
        figure.text,
        figure.kind,
        1.0,
        entry.get("id"),
        fact=fact,
    )


def _new_entry(sentence: str, quote: str, figure: Figure, year: int) -> Proposal:
    fact = _quoted_fact(f"{figure.kind}_{year}", quote, figure, year)
    return Proposal(
        _id("new_entry", quote, figure.text), "new_entry", sentence, quote, figure.text, figure.kind, 0.0, fact=fact
    )


def store_report(session: Session, plan: Plan, user: str) -> None:
    """The report itself (year, title, date, text, sentences), when the first proposal is accepted."""
    stored = session.scalar(select(Report).where(Report.year == plan.meta.year))
    if stored is None:
        record_report(session, plan.meta, plan.text, user)
        session.flush()
    elif stored.text is not None and stored.text.strip() != plan.text:
        raise StaffError(f"知识库里已有{plan.meta.year}年的另一份报告 / The KB has another report for this year")


def accept(
    session: Session,
    plan: Plan,
    proposal_id: str,
    user: str,
    en: str | None = None,
    figure_en: str | None = None,
    entry: dict[str, Any] | None = None,
) -> Entry:
    """Accept one proposal: one revision under `user` (kb.edits checks the quote against this report, the
    figure in its quote and texts). `en`, `figure_en`: the English staff wrote (required where the proposal
    needs it); `entry`: for a new entry, its title, summary and topic (and id) as the admin's form gives them."""
    proposal = plan.get(proposal_id)
    fact = dict(proposal.fact or {})
    if en is not None and en.strip():
        fact["en"] = mask(en.strip())
    if figure_en is not None:
        fact["figure_en"] = figure_en.strip() or None
    if not fact.get("en"):
        raise StaffError("请写下英文内容 / Write the English text")
    if not fact.get("quote") or str(fact.get("figure") or "") not in str(fact["quote"]):
        raise StaffError("数字不在引文里 / The figure is not in its quote")
    store_report(session, plan, user)
    if proposal.kind == "new_entry":
        data = dict(entry or {})
        title = data.get("title") or {}
        eid = str(data.get("id") or "") or new_entry_id(session, str(title.get("en") or ""))
        new: EntryData = {
            "id": eid,
            "topic": str(data.get("topic") or ""),
            "title": {"zh": mask(str(title.get("zh") or "")), "en": mask(str(title.get("en") or ""))},
            "summary": {
                "zh": mask(str((data.get("summary") or {}).get("zh") or "")),
                "en": mask(str((data.get("summary") or {}).get("en") or "")),
            },
            "aliases": {"zh": [t for t in [str(title.get("zh") or "")] if t], "en": []},
            "facts": [fact],  # type: ignore[list-item]
        }
        return create_entry(session, new, user)
    current = session.get(Entry, proposal.entry_id)
    if current is None:
        raise StaffError(f"没有这个条目:{proposal.entry_id} / No such entry")
    facts = [*to_dict(current)["facts"], fact]
    return update_entry(session, current.id, {"facts": facts}, None, user, "report")  # type: ignore[typeddict-item]


def accept_updates(session: Session, plan: Plan, user: str) -> tuple[list[Proposal], list[Proposal]]:
    """Accept every proposed update whose English text could be written from the old one (for scripts):
    (accepted, left for staff). Each is its own revision; the caller commits."""
    accepted, left = [], []
    for proposal in plan.of_kind("update"):
        if proposal.needs_english:
            left.append(proposal)
            continue
        accept(session, plan, proposal.id, user)
        accepted.append(proposal)
    return accepted, left


def describe(plan: Plan, proposals: Iterable[Proposal] | None = None) -> str:
    """The proposals as text for the command line: the old fact, the new sentence with the figure in 【】."""
    lines = [
        f"{plan.meta.title['zh']} / {plan.meta.title['en']} ({plan.meta.year}): {plan.sentences} sentences, "
        f"{len(plan.of_kind('update'))} updates, {len(plan.of_kind('new_fact'))} new facts, "
        f"{len(plan.of_kind('new_entry'))} candidate new entries"
    ]
    names = {"update": "UPDATE", "new_fact": "NEW FACT", "new_entry": "NEW ENTRY?"}
    for p in plan.proposals if proposals is None else proposals:
        before, figure, after = p.highlighted()
        where = f"{p.entry_id}.{p.fact_key}" if p.fact_key else (p.entry_id or "-")
        lines.append(f"\n[{names[p.kind]}] {where}  (id {p.id}, score {p.score})")
        if p.old:
            lines.append(f"  old ({p.old.get('report')}): {p.old['zh']}   quote: {p.old['quote']}")
        lines.append(f"  new ({plan.meta.year}): {before}【{figure}】{after}")
        if p.fact and p.kind == "update":
            lines.append(f"  as: {p.fact['zh']} / {p.fact.get('en') or '(English to be written by staff)'}")
    return "\n".join(lines)
