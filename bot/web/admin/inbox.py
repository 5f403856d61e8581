"""What residents tell staff: questions the bot could not answer (attach one to an entry) and 👎 feedback."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from sqladmin import expose
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import URL, FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.web.admin.base import (
    ChoiceFilter,
    LookupFilter,
    ReadOnlyView,
    ValuesFilter,
    confirmed,
    page,
    read,
    require_editor,
    write,
)
from kb.edits import attach_question
from kb.index_cache import index_for
from kb.models import Entry, Feedback, UnansweredQuestion


def suggestions(session: Session, text: str, k: int = 3) -> list[Entry]:
    """The entries a question most likely means: names in it first, then the search."""
    index = index_for(session)
    ids = [eid for eid, _ in index.named(text)] + [hit.key for hit in index.search_entries(text, k=k)]
    seen = list(dict.fromkeys(ids))[:k]
    rows = {e.id: e for e in session.scalars(select(Entry).where(Entry.id.in_(seen)))}
    return [rows[eid] for eid in seen if eid in rows]


class AttachedFilter(LookupFilter):
    """Filter questions by whether staff attached them to an entry (default: not yet)."""

    title = "已关联 Attached"
    parameter_name = "attached"
    choices = [("no", "待处理 Not yet"), ("yes", "已关联 Attached"), ("__all", "全部 All")]
    default_value: Any = "no"

    async def get_filtered_query(self, query: Any, value: Any, model: Any) -> Any:
        """Questions not attached (default), attached, or all."""
        value = value or self.default_value
        if value == "yes":
            return query.filter(UnansweredQuestion.entry_id.is_not(None))
        if value == "no":
            return query.filter(UnansweredQuestion.entry_id.is_(None))
        return query


def _attach_link(question: UnansweredQuestion, _attr: str) -> Markup:
    if question.entry_id:
        return Markup('<a href="../entry/details/{}">{}</a>').format(question.entry_id, question.entry_id)
    return Markup('<a class="btn btn-sm btn-outline-primary" href="attach/{}">关联到条目 Attach…</a>').format(
        question.id
    )


def _question_page(session: Session, question_id: int) -> dict[str, Any]:
    question = session.get(UnansweredQuestion, question_id)
    if question is None:
        return {}
    entries = session.execute(
        select(Entry.id, Entry.title_zh, Entry.title_en).where(Entry.retired.is_(False)).order_by(Entry.id)
    ).all()
    return {"question": question, "suggested": suggestions(session, question.text), "entries": entries}


class QuestionView(ReadOnlyView, model=UnansweredQuestion):
    """Questions the bot could not answer, most asked first; attaching one makes its text a name of an entry."""

    name = "未答问题 Unanswered question"
    name_plural = "未答问题 Unanswered questions"
    icon = "fa-solid fa-circle-question"
    column_list = [
        UnansweredQuestion.text,
        UnansweredQuestion.count,
        UnansweredQuestion.lang,
        UnansweredQuestion.last_seen,
        UnansweredQuestion.entry_id,
    ]
    column_labels = {
        UnansweredQuestion.text: "问题 Question",
        UnansweredQuestion.count: "次数 Times asked",
        UnansweredQuestion.lang: "语言 Language",
        UnansweredQuestion.first_seen: "第一次 First asked",
        UnansweredQuestion.last_seen: "最近一次 Last asked",
        UnansweredQuestion.entry_id: "关联条目 Entry",
    }
    column_formatters = {UnansweredQuestion.entry_id: _attach_link}
    column_searchable_list = [UnansweredQuestion.text]
    column_sortable_list = [UnansweredQuestion.count, UnansweredQuestion.last_seen]
    column_default_sort = [(UnansweredQuestion.count, True), (UnansweredQuestion.last_seen, True)]
    column_filters = [AttachedFilter(), ValuesFilter(UnansweredQuestion.entry_id, "关联条目 Entry")]

    search_hint = "问题 question"

    @expose("/attach/{pk}", methods=["GET", "POST"])
    async def attach(self, request: Request) -> Response:
        """Choose an entry for a question; its text becomes one of the entry's names."""
        user = require_editor(request)
        question_id = int(request.path_params["pk"])
        info = await read(self, _question_page, question_id)
        if not info:
            return await page(self, request, "admin/message.html", 404, message="没有这个问题 / No such question")

        async def change(form: FormData) -> tuple[URL, str]:
            entry_id = str(form.get("entry_id") or "")
            await write(self, attach_question, question_id, entry_id, user)
            message = f"已关联到 {entry_id};这个问题以后能答上了。 / Attached to {entry_id}: the bot now answers it."
            return request.url_for("admin:list", identity=self.identity), message

        return await confirmed(self, request, "admin/attach.html", info, change, refused=400)


RATINGS = {"down": "👎 没帮上 Not helpful", "up": "👍 有帮助 Helpful"}


def _rating(feedback: Feedback, _attr: str) -> str:
    return RATINGS.get(feedback.rating, feedback.rating)


def _thumbs_down_by_entry(session: Session) -> list[tuple[str | None, int]]:
    rows = session.execute(
        select(Feedback.entry_id, func.count(Feedback.id).label("n"))
        .where(Feedback.rating == "down")
        .group_by(Feedback.entry_id)
        .order_by(func.count(Feedback.id).desc())
        .limit(10)
    ).all()
    return [(r.entry_id, r.n) for r in rows]


class FeedbackView(ReadOnlyView, model=Feedback):
    """Residents' 👍/👎 on the bot's answers, 👎 first, with the counts per entry."""

    name = "居民反馈 Feedback"
    name_plural = "居民反馈 Feedback"
    icon = "fa-solid fa-thumbs-down"
    column_list = [Feedback.created_at, Feedback.rating, Feedback.question, Feedback.answer, Feedback.entry_id]
    column_labels = {
        Feedback.created_at: "时间 When",
        Feedback.rating: "评价 Rating",
        Feedback.question: "居民的问题 Question",
        Feedback.answer: "机器人的回答 Answer",
        Feedback.entry_id: "条目 Entry",
        Feedback.lang: "语言 Language",
        Feedback.session: "会话 Session",
    }
    column_formatters = {
        Feedback.rating: _rating,
        Feedback.answer: lambda m, a: (m.answer or "")[:120] + ("…" if len(m.answer or "") > 120 else ""),
        Feedback.entry_id: lambda m, a: (
            Markup('<a href="../entry/details/{}">{}</a>').format(m.entry_id, m.entry_id) if m.entry_id else ""
        ),
    }
    column_formatters_detail = {Feedback.rating: _rating}
    column_searchable_list = [Feedback.question, Feedback.answer, Feedback.entry_id]
    column_sortable_list = [Feedback.created_at, Feedback.rating, Feedback.entry_id]
    column_default_sort = [(Feedback.rating, False), (Feedback.created_at, True)]  # "down" sorts before "up"
    column_filters = [
        ChoiceFilter(Feedback.rating, values=list(RATINGS.items()), title="评价 Rating"),
        ValuesFilter(Feedback.entry_id, "条目 Entry"),
    ]
    list_template = "admin/feedback_list.html"

    search_hint = "问题/回答 question/answer"

    async def list_context(self, request: Request) -> dict[str, Any]:
        """The entries with the most 👎, for the box above the list."""
        return {"thumbs_down": await read(self, _thumbs_down_by_entry)}
