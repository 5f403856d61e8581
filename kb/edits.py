"""What staff do to the KB: edit, add, retire and restore entries, add and correct facts, attach and answer
residents' questions.

This is the single write path of staff changes: every screen of the admin, every CLI command and the YAML
import (kb.exchange) go through these functions, so each change is checked the same way, writes a revision
(who, when, before, after), is refused on a stale revision number, and moves the KB version so the bot's
caches reload at the next question. Each function takes a session the caller owns and commits.

Report quotes are evidence and cannot be edited. A report fact's text may be corrected and keeps its quote
as long as its figure is still in the quote; a figure that no longer matches the quote makes the fact a
staff fact (quote dropped, who and when recorded), so the bot cites the staff member, never a report
sentence that says something else. The old report fact stays in the entry's history.
"""

from __future__ import annotations

import copy
import re
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from bot.privacy import mask
from kb.build import apply_dict, bump_version, iso, record_revision, to_dict
from kb.diff import Change, diff
from kb.models import Entry, Fact, Revision, UnansweredQuestion, utcnow
from kb.queries import report_sentences_by_year
from kb.questions import mark_answered
from kb.shape import STAFF_FIELD_NAMES, EntryData, FactData, Lang, Pair, Source, Words
from kb.source import Sentences, entry_problems, sentence_of
from kb.text import has_cjk

_TRAILING_PUNCT = " \t?？!！。.,，、;；:：~～…"
# Who provided a fact and when: settled by _provenance.
_PROVENANCE: tuple[Literal["source", "created_by", "created_at"], ...] = ("source", "created_by", "created_at")


class StaffError(ValueError):
    """A change refused; `problems` says why, each in Chinese and English."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class NotFound(StaffError):
    """The entry, fact, revision or question does not exist."""


class Conflict(StaffError):
    """Someone saved the entry since this edit began; nothing was saved."""

    def __init__(
        self,
        entry_id: str,
        expected: int,
        current: int | None = None,
        by: str | None = None,
        at: str | None = None,
        changes: list[Change] | None = None,
    ):
        self.entry_id, self.expected, self.current = entry_id, expected, current
        self.by, self.at, self.changes = by or "?", at, list(changes or [])
        if current is None:
            message = (
                "另一位工作人员同时保存了这个条目,您的修改没有保存,请重新打开后再改。 / Someone else saved this entry "
                "at the same moment; your changes were not saved. Open it again and redo them."
            )
        else:
            message = (
                f"{self.by} 已保存了这个条目的第 {current} 版,您编辑的是第 {expected} 版,您的修改没有保存。"
                f" / {self.by} saved revision {current} of this entry while you were editing revision {expected};"
                " your changes were not saved."
            )
        super().__init__(message)


# --- checking a change --------------------------------------------------------------------------------------


def _get_entry(session: Session, entry_id: str) -> Entry:
    entry = session.get(Entry, entry_id, options=[selectinload(Entry.facts)])
    if entry is None:
        raise NotFound(f"没有这个条目:{entry_id} / No such entry: {entry_id}")
    return entry


def _content(item: FactData) -> tuple:
    keywords = item.get("keywords") or Words(zh=[], en=[])
    return (
        item.get("kind", "statement"),
        str(item["figure"]) if item.get("figure") not in (None, "") else None,
        str(item["figure_en"]) if item.get("figure_en") not in (None, "") else None,
        str(item.get("zh") or "").strip(),
        str(item.get("en") or "").strip(),
        list(keywords.get("zh") or []),
        list(keywords.get("en") or []),
    )


def _fact_content(fact: Fact) -> tuple:
    return _content(
        {
            "kind": fact.kind,
            "figure": fact.figure,
            "figure_en": fact.figure_en,
            "zh": fact.text_zh,
            "en": fact.text_en,
            "keywords": {"zh": fact.keywords_zh, "en": fact.keywords_en},
        }
    )


def _provenance(
    facts: list[FactData], old: dict[str, Fact], user: str, keep_authorship: bool
) -> tuple[list[FactData], list[str]]:
    """Facts with their source settled: report quotes kept, changed figures become staff facts, staff who/when."""
    out: list[FactData] = []
    problems: list[str] = []
    now = iso(utcnow())
    for raw in facts:
        # Empty values dropped, texts kept: still a FactData (mypy types any dict comprehension as a plain dict).
        item = cast(FactData, {k: v for k, v in raw.items() if v not in (None, "") or k in ("zh", "en")})
        prior = old.get(item.get("key") or "")
        if prior is not None and prior.figure_en and str(item.get("figure") or "") != (prior.figure or ""):
            if str(item.get("figure_en") or "") == prior.figure_en:
                problems.append(
                    f"事实 {prior.key}: 数字改了,请同时改英文数字和英文内容 / fact {prior.key}: the figure changed, "
                    "change the English figure and text too"
                )
        if prior is not None and prior.source == "report" and prior.quote and not prior.retired:
            if item.get("quote") not in (None, prior.quote):
                problems.append(
                    f"事实 {prior.key}: 工作报告的引文不能修改 / fact {prior.key}: a report quote cannot be edited"
                )
            figure = item.get("figure")
            if figure in (None, "") or str(figure) in prior.quote:
                item["quote"] = prior.quote
                for name in _PROVENANCE:
                    item.pop(name, None)
                out.append(item)
                continue
            item.pop("quote", None)  # the new figure is not what the report says: a staff correction
        if item.get("quote"):
            for name in _PROVENANCE:
                item.pop(name, None)
            out.append(item)  # a report fact new to this entry (restore, import): the quote is checked
            continue
        item["source"] = "staff"
        unchanged = prior is not None and not prior.retired and prior.source == "staff"
        if unchanged and prior is not None and _fact_content(prior) == _content(item):
            item["created_by"], item["created_at"] = prior.created_by, iso(prior.created_at)
        elif not (keep_authorship and item.get("created_by")):
            item["created_by"], item["created_at"] = user, now
        else:
            item.setdefault("created_at", now)
        out.append(item)
    return out, problems


def prepare(
    session: Session,
    entry: Entry | None,
    data: EntryData,
    user: str,
    keep_authorship: bool = False,
    known_ids: set[str] | None = None,
) -> EntryData:
    """The full entry a change would give (YAML shape), checked; StaffError lists every problem.

    `data` may hold only some top-level keys (title, staff, facts …); the others keep their current value.
    """
    full: EntryData = (
        copy.deepcopy(to_dict(entry)) if entry is not None else {"aliases": {"zh": [], "en": []}, "facts": []}
    )
    # An export's `meta` (kb.shape.ExportedEntry) is bookkeeping, not part of the entry.
    changes = cast(EntryData, {k: v for k, v in data.items() if k != "meta"})
    full.update(copy.deepcopy(changes))
    if entry is not None:
        full["id"] = entry.id
    full.setdefault("staff", {})
    if not data.get("retired") and "retired" in data:
        full.pop("retired", None)
    old = {f.key: f for f in entry.facts} if entry is not None else {}
    full["facts"], problems = _provenance(list(full.get("facts") or []), old, user, keep_authorship)
    if known_ids is None:
        known_ids = set(session.scalars(select(Entry.id)))
    by_year = report_sentences_by_year(session)
    for item in full["facts"]:
        if item.get("quote") and item.get("report") is None:  # an export made before reports by year
            holding = [y for y, s in sorted(by_year.items()) if sentence_of(item["quote"], s)]
            if holding:
                item["report"] = holding[0]
    problems += entry_problems(full, by_year, known_ids | {str(full.get("id"))}, from_report=False)
    if problems:
        raise StaffError(problems)
    return full


# --- applying a change --------------------------------------------------------------------------------------


def _sync(entry: Entry, full: EntryData, sentences: Sentences, user: str) -> None:
    """Set the entry's columns and facts from a prepared entry, updating facts in place (ids stay stable)."""
    probe = Entry(id=entry.id)
    apply_dict(probe, full, sentences, user)
    for column in ("topic", "title_zh", "title_en", "summary_zh", "summary_en", "retired"):
        setattr(entry, column, getattr(probe, column))
    for column in ("aliases_zh", "aliases_en", "situations_zh", "situations_en", "related"):
        setattr(entry, column, list(getattr(probe, column)))
    for name in STAFF_FIELD_NAMES:
        for lang in ("zh", "en"):
            setattr(entry, f"{name}_{lang}", getattr(probe, f"{name}_{lang}"))
    existing = {f.key: f for f in entry.facts}
    wanted = list(probe.facts)
    probe.facts = []
    for position, new in enumerate(wanted):
        fact = existing.pop(new.key, None)
        if fact is None:
            fact = Fact(key=new.key, created_by=new.created_by)
            entry.facts.append(fact)
        elif not (new.source == fact.source == "report"):  # a report fact keeps its build's who and when
            fact.created_by = new.created_by
        if new.created_at is not None and new.source != "report":
            fact.created_at = new.created_at
        for column in (
            "kind",
            "figure",
            "figure_en",
            "text_zh",
            "text_en",
            "quote",
            "sentence",
            "source",
            "report_year",
            "series",
        ):
            setattr(fact, column, getattr(new, column))
        fact.keywords_zh, fact.keywords_en = list(new.keywords_zh), list(new.keywords_en)
        fact.position, fact.retired = position, False
    for offset, fact in enumerate(existing.values()):  # left out: retired, kept for the history screens
        fact.retired, fact.position = True, 1000 + offset
    entry.facts.sort(key=lambda f: f.position)


def _check_revision(session: Session, entry: Entry, expected: int | None) -> None:
    if expected is None or int(expected) == entry.revision:
        return
    last = session.scalar(
        select(Revision).where(Revision.entry_id == entry.id).order_by(Revision.revision.desc(), Revision.id.desc())
    )
    seen = session.scalar(
        select(Revision.after)
        .where(Revision.entry_id == entry.id, Revision.revision == int(expected))
        .order_by(Revision.id.desc())
    )
    raise Conflict(
        entry.id,
        int(expected),
        entry.revision,
        last.changed_by if last else entry.updated_by,
        iso(last.changed_at if last else entry.updated_at),
        diff(seen, to_dict(entry)) if seen else [],
    )


def _save(
    session: Session, entry: Entry, before: EntryData | None, action: str, user: str, staff_edited: bool = True
) -> Revision | None:
    """Record a change: staff_edited, who/when, a revision, a new KB version; None when nothing changed."""
    after = to_dict(entry)
    if before is not None and after == before:
        return None
    entry.staff_edited, entry.updated_by, entry.updated_at = staff_edited, user, utcnow()
    expected = entry.revision
    try:
        session.flush()
    except StaleDataError as err:  # someone saved between our read and our write; the caller rolls back
        raise Conflict(entry.id, expected or 0) from err
    revision = record_revision(session, entry, action, user, before)
    bump_version(session)
    session.flush()
    return revision


# --- what staff do ----------------------------------------------------------------------------------------


def update_entry(
    session: Session,
    entry_id: str,
    data: EntryData,
    expected_revision: int | None,
    user: str,
    action: str = "update",
    keep_authorship: bool = False,
    known_ids: set[str] | None = None,
) -> Entry:
    """Change an entry (any top-level keys of the YAML shape); Conflict if its revision is not the one expected."""
    entry = _get_entry(session, entry_id)
    _check_revision(session, entry, expected_revision)
    with session.no_autoflush:
        full = prepare(session, entry, data, user, keep_authorship, known_ids)
        before = to_dict(entry)
        _sync(entry, full, report_sentences_by_year(session), user)
    _save(session, entry, before, action, user)
    return entry


def create_entry(
    session: Session,
    data: EntryData,
    user: str,
    source: Source = "staff",
    keep_authorship: bool = False,
    known_ids: set[str] | None = None,
    staff_edited: bool = True,
) -> Entry:
    """Add a new entry (YAML shape); the search finds it at the next question."""
    eid = str(data.get("id") or "")
    if eid and session.get(Entry, eid) is not None:
        raise StaffError(f"编号已被使用:{eid} / The id is taken: {eid}")
    with session.no_autoflush:
        full = prepare(session, None, data, user, keep_authorship, known_ids)
        entry = Entry(id=eid, source=source, updated_by=user, facts=[])
        _sync(entry, full, report_sentences_by_year(session), user)
    session.add(entry)
    _save(session, entry, None, "create", user, staff_edited)
    return entry


def retire_entry(
    session: Session, entry_id: str, expected_revision: int | None, user: str, retired: bool = True
) -> Entry:
    """Retire an entry (the bot stops using it; nothing is deleted), or bring it back with retired=False."""
    return update_entry(
        session, entry_id, {"retired": retired}, expected_revision, user, "retire" if retired else "unretire"
    )


def restore_revision(session: Session, revision_id: int, expected_revision: int | None, user: str) -> Entry:
    """Make an entry what it was at an earlier revision (a new revision; the history is kept)."""
    revision = session.get(Revision, revision_id)
    state = (revision.after or revision.before) if revision is not None else None
    if revision is None or state is None:
        raise NotFound(f"没有这个修改记录:{revision_id} / No such revision: {revision_id}")
    snapshot = copy.deepcopy(state)
    snapshot["retired"] = bool(snapshot.get("retired", False))
    return update_entry(session, revision.entry_id, snapshot, expected_revision, user, "restore", keep_authorship=True)


def _next_key(entry: Entry) -> str:
    taken = {f.key for f in entry.facts}
    return next(f"staff_{n}" for n in range(1, len(taken) + 2) if f"staff_{n}" not in taken)


def add_staff_fact(
    session: Session, entry_id: str, fact: FactData, user: str, expected_revision: int | None = None
) -> Fact:
    """Add a staff-provided fact (no report quote; who and when recorded, and cited by the bot as such)."""
    entry = _get_entry(session, entry_id)
    item = fact.copy()
    item.pop("quote", None)
    for name in _PROVENANCE:
        item.pop(name, None)
    item["key"] = item.get("key") or _next_key(entry)
    if item["key"] in {f.key for f in entry.facts if not f.retired}:
        raise StaffError(f"事实编号已被使用:{item['key']} / The fact key is taken: {item['key']}")
    facts = to_dict(entry)["facts"] + [item]
    update_entry(session, entry_id, {"facts": facts}, expected_revision, user)
    return next(f for f in entry.facts if f.key == item["key"])


def _fact_and_entry(session: Session, fact_id: int) -> tuple[Fact, Entry]:
    fact = session.get(Fact, fact_id)
    if fact is None or fact.retired:
        raise NotFound(f"没有这条事实:{fact_id} / No such fact: {fact_id}")
    return fact, _get_entry(session, fact.entry_id)


def update_fact(session: Session, fact_id: int, changes: FactData, expected_revision: int | None, user: str) -> Fact:
    """Correct one fact (text, figure, keywords, kind); its quote, if any, cannot change."""
    fact, entry = _fact_and_entry(session, fact_id)
    facts = to_dict(entry)["facts"]
    correction = changes.copy()
    correction.pop("key", None)
    for name in _PROVENANCE:
        correction.pop(name, None)
    for item in facts:
        if item["key"] == fact.key:
            item.update(correction)
    update_entry(session, entry.id, {"facts": facts}, expected_revision, user)
    return fact


def remove_fact(session: Session, fact_id: int, expected_revision: int | None, user: str) -> Entry:
    """Take a fact out of an entry (kept in the entry's history, from where it can be restored)."""
    fact, entry = _fact_and_entry(session, fact_id)
    facts = [item for item in to_dict(entry)["facts"] if item["key"] != fact.key]
    return update_entry(session, entry.id, {"facts": facts}, expected_revision, user)


def attach_question(session: Session, question_id: int, entry_id: str, user: str) -> Entry:
    """Make an unanswered question's text an alias of an entry (in the question's language); the question and
    its other wordings (kb.questions) are answered by the entry from now on."""
    question = session.get(UnansweredQuestion, question_id)
    if question is None:
        raise NotFound(f"没有这个问题:{question_id} / No such question: {question_id}")
    entry = _get_entry(session, entry_id)
    alias = question.text.strip().rstrip(_TRAILING_PUNCT).strip()
    lang: Lang = "zh" if has_cjk(alias) else "en"
    aliases = to_dict(entry)["aliases"]
    if alias and alias.lower() not in {a.lower() for a in aliases[lang]}:
        aliases[lang].append(alias)
        update_entry(session, entry_id, {"aliases": aliases}, None, user, "attach")
    mark_answered(session, question_id, entry_id)
    return entry


# --- writing the answer to a resident's question -------------------------------------------------------------

WORDING_AS = ("alias", "situation")  # the question's words become a name of the entry, or a situation
MAX_WORDING = 200


def _masked(value: str | None) -> str:
    """A text staff typed, personal numbers masked (as everything residents wrote is: bot/privacy.py)."""
    return mask(str(value or "").strip())


def _masked_fact(fact: FactData) -> FactData:
    item = cast(FactData, {k: v for k, v in fact.items() if k not in ("quote", "sentence", *_PROVENANCE)})
    item["zh"], item["en"] = _masked(fact.get("zh")), _masked(fact.get("en"))
    keywords = fact.get("keywords") or Words(zh=[], en=[])
    item["keywords"] = Words(
        zh=[w for w in (_masked(k) for k in keywords.get("zh") or []) if w],
        en=[w for w in (_masked(k) for k in keywords.get("en") or []) if w],
    )
    return item


def _with_names(data: EntryData, as_: str, names: Words) -> EntryData:
    """The entry data with `names` as its aliases (`as_="alias"`) or its situations."""
    if as_ == "alias":
        data["aliases"] = names
    else:
        data["situations"] = names
    return data


def new_entry_id(session: Session, title_en: str) -> str:
    """A free snake_case id made from an English title ("Benefits for older residents" → benefits_for_older_residents)."""
    stem = re.sub(r"[^a-z0-9]+", "_", title_en.lower()).strip("_")[:56].strip("_")
    stem = stem if stem[:1].isalpha() else f"staff_{stem}".strip("_")
    taken = set(session.scalars(select(Entry.id).where(Entry.id.like(f"{stem}%"))))
    candidate, n = stem, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}_{n}"
    return candidate


def write_answer(
    session: Session,
    question_id: int,
    user: str,
    wording: str,
    as_: str = "situation",
    entry_id: str | None = None,
    fact: FactData | None = None,
    new_entry: EntryData | None = None,
    expected_revision: int | None = None,
) -> Entry:
    """Answer an unanswered question: a staff fact on an existing entry (`entry_id`, `fact`), or a new staff
    entry (`new_entry`, with a fact or only its summary). The question's words (`wording`, as staff corrected
    them) become a name (`as_="alias"`) or a situation of the entry, so the bot finds the entry for the
    question at its next message. One change, one revision; personal numbers in everything are masked first.
    The question and its other wordings (kb.questions) are answered by the entry from now on.
    """
    question = session.get(UnansweredQuestion, question_id)
    if question is None:
        raise NotFound(f"没有这个问题:{question_id} / No such question: {question_id}")
    words = _masked(" ".join(str(wording or "").split())).rstrip(_TRAILING_PUNCT).strip()
    problems = []
    if as_ not in WORDING_AS:
        problems.append("问题要作为别名还是情境? / Add the question as a name or as a situation?")
    if not words or len(words) > MAX_WORDING:
        problems.append(f"问题的说法须为 1-{MAX_WORDING} 个字 / The question's words: 1 to {MAX_WORDING} characters")
    if (entry_id is None) == (new_entry is None):
        problems.append("请选择已有条目,或新建一个条目 / Choose an entry, or make a new one")
    if entry_id is not None and not fact:
        problems.append("请写下回答(事实的中文和英文) / Write the answer (the fact, in Chinese and English)")
    if problems:
        raise StaffError(problems)
    lang: Lang = "zh" if has_cjk(words) else "en"
    if new_entry is not None:
        data = cast(EntryData, copy.deepcopy(dict(new_entry)))
        title, summary = data.get("title") or Pair(zh="", en=""), data.get("summary") or Pair(zh="", en="")
        data["title"] = {"zh": _masked(title.get("zh")), "en": _masked(title.get("en"))}
        data["summary"] = {"zh": _masked(summary.get("zh")), "en": _masked(summary.get("en"))}
        data["id"] = str(data.get("id") or "") or new_entry_id(session, data["title"]["en"])
        names = Words(zh=[], en=[])
        names[lang] = [words]
        data["facts"] = [{**_masked_fact(fact), "key": "staff_1"}] if fact else []
        entry = create_entry(session, _with_names(data, as_, names), user)
    else:
        entry = _get_entry(session, str(entry_id))
        _check_revision(session, entry, expected_revision)
        current = to_dict(entry)
        names = copy.deepcopy(
            (current.get("aliases") if as_ == "alias" else current.get("situations")) or Words(zh=[], en=[])
        )
        if words.lower() not in {n.lower() for n in names[lang]}:
            names[lang] = [*names[lang], words]
        item = _masked_fact(cast(FactData, fact))
        item["key"] = _next_key(entry)
        change = _with_names({"facts": [*current["facts"], item]}, as_, names)
        update_entry(session, entry.id, change, expected_revision, user, "answer")
    mark_answered(session, question_id, entry.id)
    return entry
