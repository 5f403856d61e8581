"""The unanswered queue as staff work it: similar questions grouped, dismissed with a reason, reopened.

A group is every question with the same key (`question_key`): the text as residents' wording varies least,
lower-cased, in simplified characters, without punctuation, spaces, emoji, and without the politeness and
question particles around it ("请问…", "…吗", "…呢"). So "明天会下雨吗?", "明天會下雨嗎" and "明天 会下雨吗！"
are one group, and one click dismisses or answers all of them; "明天下雨吗" (another word) is another group,
which the bulk actions take along when it is ticked too. No fuzzier similarity is used: two questions that
differ in a word can ask different things ("在哪办" / "怎么办"), and a wrong merge would hide one from staff.

Dismissing writes who, when and why on each question of the group (kb.models.UnansweredQuestion); a question
asked again later is counted on its row and stays dismissed, and a new wording of a dismissed group starts
dismissed too (kb.queries.record_unanswered). Answering or attaching a group (kb.edits) sets its entry.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kb.models import DISMISS_REASONS, UnansweredQuestion, utcnow
from kb.text import STOPWORDS_EN, STOPWORDS_ZH, Segmenter, has_cjk, normalize, plain_segmenter

Status = Literal["open", "dismissed", "answered"]
STATUSES: tuple[Status, ...] = ("open", "dismissed", "answered")
MAX_KEY = 500

# Politeness before a question and particles after it: they change no question.
_LEADING = re.compile(
    r"^(?:(?:请问一下|请问|问一下|想问一下|想问|我想问|你好|您好|小助手)\s*|(?:hello|hi|hey|please|excuse me)\b\s*)+"
)
_TRAILING = re.compile(r"(?:\s*(?:吗|嘛|呢|啊|呀|吧|哦|啦)|\s+(?:please|thanks|thank you))+$")


class QueueError(ValueError):
    """A queue change refused (unknown reason, no question chosen); said in Chinese and English."""


@lru_cache(maxsize=8192)
def question_key(text: str) -> str:
    """The key a question is grouped by (see the module): its letters, digits and characters only, lower-case and
    simplified, without leading politeness and trailing particles."""
    words = " ".join("".join(ch if unicodedata.category(ch)[0] in "LN" else " " for ch in normalize(text)).split())
    core = _TRAILING.sub("", _LEADING.sub("", words))
    return (core or words).replace(" ", "")[:MAX_KEY] or normalize(text)[:MAX_KEY]


def key_of(question: UnansweredQuestion) -> str:
    """The question's stored key (rows written before keys were stored get theirs from the text)."""
    return question.group_key or question_key(question.text)


def status_of(question: UnansweredQuestion) -> Status:
    """Dismissed, answered (an entry answers it: attached or written), or open."""
    if question.dismissed_at is not None:
        return "dismissed"
    return "answered" if question.entry_id else "open"


@dataclass
class QuestionGroup:
    """The questions of one key, most asked first."""

    key: str
    questions: list[UnansweredQuestion] = field(default_factory=list)

    @property
    def lead(self) -> UnansweredQuestion:
        """The wording asked most (the group's id and text in the admin)."""
        return self.questions[0]

    @property
    def count(self) -> int:
        """How often any wording of the group was asked."""
        return sum(q.count for q in self.questions)

    @property
    def last_seen(self) -> datetime:
        """When any wording was asked last."""
        return max(q.last_seen for q in self.questions)

    @property
    def variants(self) -> list[UnansweredQuestion]:
        """The other wordings."""
        return self.questions[1:]

    @property
    def ids(self) -> list[int]:
        """Every question's id."""
        return [q.id for q in self.questions]


def groups(session: Session, status: Status = "open", search: str = "") -> list[QuestionGroup]:
    """The queue's groups of one status, most asked first (then most recent); `search` keeps the groups with a
    wording that holds it."""
    query = select(UnansweredQuestion)
    if status == "dismissed":
        query = query.where(UnansweredQuestion.dismissed_at.is_not(None))
    else:
        query = query.where(UnansweredQuestion.dismissed_at.is_(None))
        answered = UnansweredQuestion.entry_id.is_not(None)
        query = query.where(answered if status == "answered" else ~answered)
    found: dict[str, QuestionGroup] = {}
    for question in session.scalars(query):
        key = key_of(question)
        found.setdefault(key, QuestionGroup(key)).questions.append(question)
    out = list(found.values())
    for group in out:
        group.questions.sort(key=lambda q: (-q.count, -q.last_seen.timestamp(), q.id))
    if search:
        needle = normalize(search)
        out = [g for g in out if any(needle in normalize(q.text) for q in g.questions)]
    out.sort(key=lambda g: (-g.count, -g.last_seen.timestamp(), g.lead.id))
    return out


def group_of(session: Session, question_id: int, status: Status | None = None) -> QuestionGroup | None:
    """The group a question belongs to (its wordings of the same status as it, or of `status`)."""
    question = session.get(UnansweredQuestion, question_id)
    if question is None:
        return None
    key, wanted = key_of(question), status or status_of(question)
    candidates = session.scalars(
        select(UnansweredQuestion).where(
            or_(UnansweredQuestion.group_key == key, UnansweredQuestion.group_key.is_(None))
        )
    )
    group = QuestionGroup(key, [q for q in candidates if key_of(q) == key and status_of(q) == wanted])
    if question not in group.questions:
        group.questions.append(question)
    group.questions.sort(key=lambda q: (-q.count, -q.last_seen.timestamp(), q.id))
    return group


def dismiss(session: Session, question_ids: list[int], reason: str, user: str) -> int:
    """Dismiss the open groups of these questions (every wording), with why, who and when; how many questions."""
    if reason not in DISMISS_REASONS:
        raise QueueError(f"请选择原因 / Choose a reason: {', '.join(DISMISS_REASONS)}")
    if not question_ids:
        raise QueueError("请先勾选问题 / Tick the questions first")
    now, done = utcnow(), 0
    for question_id in question_ids:
        group = group_of(session, question_id, "open")
        for question in group.questions if group else []:
            if status_of(question) != "open":
                continue
            question.group_key = key_of(question)
            question.dismissed_reason, question.dismissed_by, question.dismissed_at = reason, user, now
            done += 1
    session.flush()
    return done


def reopen(session: Session, question_id: int) -> int:
    """Put a dismissed group back on the queue; how many questions."""
    group = group_of(session, question_id, "dismissed")
    count = 0
    for question in group.questions if group else []:
        question.dismissed_reason = question.dismissed_by = None
        question.dismissed_at = None
        count += 1
    session.flush()
    return count


def mark_answered(session: Session, question_id: int, entry_id: str) -> None:
    """The question's open group is answered by an entry now (attached, or an answer was written)."""
    group = group_of(session, question_id, "open")
    for question in group.questions if group else []:
        question.group_key = key_of(question)
        question.entry_id = entry_id
    asked = session.get(UnansweredQuestion, question_id)
    if asked is not None and asked.entry_id is None:
        asked.entry_id = entry_id
    session.flush()


def content_words(text: str, segmenter: Segmenter | None = None, limit: int = 4) -> list[str]:
    """The question's words that carry its topic (jieba words of two or more characters, with the KB's terms when
    given the search index's segmenter; English words), in order, without question words: keywords to suggest
    for the fact that answers it."""
    words: list[str] = []
    for piece in (segmenter or plain_segmenter()).cut(normalize(text)):
        piece = piece.strip()
        if has_cjk(piece):
            keep = len(piece) > 1 and piece not in STOPWORDS_ZH
        else:
            keep = len(piece) > 2 and piece.isalpha() and piece not in STOPWORDS_EN
        if keep and piece not in words:
            words.append(piece)
    return words[:limit]
