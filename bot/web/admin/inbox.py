"""What residents tell staff: the questions the bot could not answer, and their 👍/👎.

The queue shows each group of similar questions once (kb.questions): staff write the answer (a staff fact on an
entry, or a new entry; kb.edits.write_answer), attach it to an entry as a name, or dismiss it with a reason, one
group or many ticked at once. Everything that changes the KB goes through kb.edits.
"""

from __future__ import annotations

from typing import Any

from sqladmin import expose
from sqladmin.pagination import Pagination
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import URL, FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bot.web.admin.base import (
    ChoiceFilter,
    EntryFilter,
    ReadOnlyView,
    confirmed,
    done,
    entry_label,
    entry_link,
    entry_titles,
    page,
    read,
    require_editor,
    write,
)
from bot.web.admin.texts import DISMISS_REASONS, NO_TOPIC, QUEUE_STATUS, REPLY_KINDS, TOPICS
from kb.edits import StaffError, attach_question, write_answer
from kb.index_cache import index_for
from kb.models import Entry, Feedback, UnansweredQuestion
from kb.questions import STATUSES, QuestionGroup, QueueError, Status, content_words, dismiss, group_of, groups, reopen
from kb.shape import EntryData, FactData


def suggestions(session: Session, text: str, k: int = 3) -> list[Entry]:
    """The entries a question most likely means: names in it first, then the search."""
    index = index_for(session)
    ids = [eid for eid, _ in index.named(text)] + [hit.key for hit in index.search_entries(text, k=k)]
    seen = list(dict.fromkeys(ids))[:k]
    rows = {e.id: e for e in session.scalars(select(Entry).where(Entry.id.in_(seen)))}
    return [rows[eid] for eid in seen if eid in rows]


def _ids(request: Request, form: FormData) -> list[int]:
    """The question ids a form posted (ticked boxes) or its button named (?ids=), as numbers; 400 for anything else."""
    values = [*form.getlist("ids"), *request.query_params.getlist("ids")]
    if any(isinstance(v, UploadFile) or not str(v).isdigit() for v in values):
        raise HTTPException(400, "ids: question numbers / 应为问题编号")
    return [int(str(v)) for v in values]


def _queue(session: Session, status: Status, search: str) -> tuple[list[QuestionGroup], dict[str, str], dict[str, int]]:
    """The groups of one status, the titles of the entries that answer them, and how many groups each status has."""
    found = groups(session, status, search)
    titles = entry_titles(session, [g.lead.entry_id for g in found])
    labels = {eid: entry_label(*pair) for eid, pair in titles.items()}
    counts: dict[str, int] = {name: len(groups(session, name)) for name in STATUSES}
    return found, labels, counts


def _entries(session: Session) -> list[tuple[str, str, str]]:
    """(id, title_zh, title_en) of the entries in use, by Chinese title."""
    return [
        (r.id, r.title_zh, r.title_en)
        for r in session.execute(
            select(Entry.id, Entry.title_zh, Entry.title_en).where(Entry.retired.is_(False)).order_by(Entry.title_zh)
        )
    ]


def _question_page(session: Session, question_id: int) -> dict[str, Any]:
    group = group_of(session, question_id)
    if group is None:
        return {}
    index = index_for(session)
    return {
        "question": session.get(UnansweredQuestion, question_id),
        "group": group,
        "suggested": suggestions(session, group.lead.text),
        "entries": _entries(session),
        # Keywords to suggest for the fact: the question's own words, but not a service's name (it would point
        # every question about the service to this fact).
        "words": [w for w in content_words(group.lead.text, index.segmenter) if not index.named(w)],
    }


def _words(value: object) -> list[str]:
    """Keywords typed in one box, separated by commas (any kind) or 、."""
    text = str(value or "")
    for mark in "，、;；":
        text = text.replace(mark, ",")
    return [w.strip() for w in text.split(",") if w.strip()]


def answer_of(form: FormData) -> dict[str, Any]:
    """The write-an-answer form as kb.edits.write_answer's arguments; 400 for a form no page of ours sends."""

    def text(name: str) -> str:
        value = form.get(name)
        if isinstance(value, UploadFile):
            raise HTTPException(400, f"{name}: text, not a file / 应为文字")
        return str(value or "").strip()

    mode, as_ = text("mode"), text("as")
    if mode not in ("fact", "entry"):
        raise HTTPException(400, "mode: fact or entry / 请选择回答方式")
    args: dict[str, Any] = {"wording": text("wording"), "as_": as_}
    if mode == "fact":
        fact: FactData = {
            "kind": "statement",
            "zh": text("fact_zh"),
            "en": text("fact_en"),
            "keywords": {"zh": _words(text("keywords_zh")), "en": _words(text("keywords_en"))},
        }
        if text("figure"):
            fact["kind"], fact["figure"] = "amount" if "元" in text("figure") else "count", text("figure")
        args.update(entry_id=text("entry_id"), fact=fact, expected_revision=None)
    else:
        entry: EntryData = {
            "id": "",
            "topic": text("topic"),
            "title": {"zh": text("title_zh"), "en": text("title_en")},
            "summary": {"zh": text("summary_zh"), "en": text("summary_en")},
        }
        args["new_entry"] = entry
    return args


class QuestionView(ReadOnlyView, model=UnansweredQuestion):
    """The questions the bot could not answer, one row a group of similar ones, most asked first."""

    name = "未答问题 Unanswered question"
    name_plural = "未答问题 Unanswered questions"
    icon = "fa-solid fa-circle-question"
    can_view_details = False  # everything about a question is on the queue and its pages
    column_searchable_list = [UnansweredQuestion.text]
    list_template = "admin/questions.html"
    page_size_options = [25, 50, 100]
    search_hint = "问题 question"

    async def list(self, request: Request) -> Pagination:
        """The groups of the status asked for (default: to do), a page of them."""
        status, search = self._status(request), str(request.query_params.get("search") or "").strip()[:200]
        found, labels, counts = await read(self, _queue, status, search)
        entry_id = request.query_params.get("entry_id")
        if entry_id:  # an entry's page: the questions it answers
            found = [g for g in found if g.lead.entry_id == entry_id]
        size = min(self.validate_page_number(request.query_params.get("pageSize"), self.page_size), 100)
        number = self.validate_page_number(request.query_params.get("page"), 1)
        start = (min(number, Pagination.max_page(len(found), size)) - 1) * size
        request.state.queue = {"labels": labels, "counts": counts, "status": status, "search": search}
        return Pagination(rows=found[start : start + size], page=number, page_size=size, count=len(found))

    @staticmethod
    def _status(request: Request) -> Status:
        """?status=open|answered|dismissed (links of earlier releases: ?attached=no|yes)."""
        attached = {"yes": "answered", "no": "open"}.get(str(request.query_params.get("attached")))
        status = str(request.query_params.get("status") or attached or "open")
        if status not in STATUSES:
            raise HTTPException(400, "status: open, answered or dismissed / 状态不对")
        return status

    async def list_context(self, request: Request) -> dict[str, Any]:
        """What the queue's page says besides its rows: reasons, statuses, what the bot replied."""
        return {"reasons": DISMISS_REASONS, "statuses": QUEUE_STATUS, "reply_kinds": REPLY_KINDS}

    def _back(self, request: Request, form: FormData | None = None) -> URL:
        """The queue as the clerk left it (its status and page), from the form's `back` field."""
        back = str((form.get("back") if form is not None else "") or "")
        url = request.url_for("admin:list", identity=self.identity)
        return URL(f"{url}?{back}") if back and "://" not in back and not back.startswith("/") else url

    @expose("/dismiss", methods=["POST"])
    async def dismiss(self, request: Request) -> Response:
        """Dismiss the ticked groups (or the one whose button was pressed) with a reason: every wording goes."""
        user = require_editor(request)
        form = await request.form()
        reason = str(form.get("reason") or "")
        try:
            count = await write(self, dismiss, _ids(request, form), reason, user)
        except QueueError as err:
            return await page(self, request, "admin/message.html", 400, message=str(err))
        label = DISMISS_REASONS[reason]
        return done(
            request, self._back(request, form), f"已忽略 {count} 个问题({label})。 / Dismissed {count}: {label}."
        )

    @expose("/reopen/{pk}", methods=["POST"])
    async def reopen(self, request: Request) -> Response:
        """Put a dismissed group back on the queue."""
        require_editor(request)
        form = await request.form()
        count = await write(self, reopen, int(request.path_params["pk"]))
        return done(request, self._back(request, form), f"已放回待处理 {count} 个问题。 / Back on the queue: {count}.")

    @expose("/answer/{pk}", methods=["GET", "POST"])
    async def answer(self, request: Request) -> Response:
        """Write the answer: a staff fact on an entry, or a new entry; the question's words become a name or a
        situation of it, so the bot answers the question from the next message on."""
        user = require_editor(request)
        question_id = int(request.path_params["pk"])
        info = await read(self, _question_page, question_id)
        if not info:
            return await page(self, request, "admin/message.html", 404, message="没有这个问题 / No such question")
        values: dict[str, Any] = {}
        error = None
        if request.method == "POST":
            form = await request.form()
            values = {key: str(value) for key, value in form.items() if not isinstance(value, UploadFile)}
            try:
                entry = await write(self, lambda s: write_answer(s, question_id, user, **answer_of(form)))
            except StaffError as err:
                error = str(err)
            else:
                url = request.url_for("admin:details", identity="entry", pk=entry.id)
                return done(
                    request,
                    url,
                    f"已保存:“{info['group'].lead.text}”现在由「{entry.title_zh}」回答。 / Saved: the bot answers "
                    f"this question with {entry.title_en} from now on.",
                )
        context = {**info, "values": values, "topics": TOPICS, "error": error}
        return await page(self, request, "admin/answer.html", 400 if error else 200, **context)

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
            entry = await write(self, attach_question, question_id, entry_id, user)
            message = f"已关联到「{entry.title_zh}」;这个问题以后能答上了。 / Attached to {entry.title_en}: the bot now answers it."
            return request.url_for("admin:list", identity=self.identity), message

        return await confirmed(self, request, "admin/attach.html", info, change, refused=400)


RATINGS = {"down": "👎 没帮上 Not helpful", "up": "👍 有帮助 Helpful"}


def _rating(feedback: Feedback, _attr: str) -> str:
    return RATINGS.get(feedback.rating, feedback.rating)


def _thumbs_down_by_entry(session: Session) -> list[tuple[str | None, str, int]]:
    """The entries with the most 👎: (id, title, count)."""
    rows = session.execute(
        select(Feedback.entry_id, func.count(Feedback.id).label("n"))
        .where(Feedback.rating == "down")
        .group_by(Feedback.entry_id)
        .order_by(func.count(Feedback.id).desc())
        .limit(10)
    ).all()
    titles = entry_titles(session, [r.entry_id for r in rows])
    return [(r.entry_id, entry_label(*titles[r.entry_id]) if r.entry_id in titles else NO_TOPIC, r.n) for r in rows]


class FeedbackView(ReadOnlyView, model=Feedback):
    """Residents' 👍/👎 on the bot's answers, 👎 first, with the counts per entry."""

    name = "居民反馈 Feedback"
    name_plural = "居民反馈 Feedback"
    icon = "fa-solid fa-thumbs-down"
    column_list = [Feedback.created_at, Feedback.rating, Feedback.question, Feedback.answer, Feedback.entry_id]
    column_details_list = [
        Feedback.created_at,
        Feedback.rating,
        Feedback.question,
        Feedback.answer,
        Feedback.entry_id,
        Feedback.lang,
        Feedback.session,
    ]
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
        Feedback.entry_id: lambda m, a: entry_link(m.entry_id, m.entry),
    }
    column_formatters_detail = {
        Feedback.rating: _rating,
        Feedback.entry_id: lambda m, a: entry_link(m.entry_id, m.entry),
    }
    column_searchable_list = [Feedback.question, Feedback.answer]
    column_sortable_list = [Feedback.created_at, Feedback.rating]
    column_default_sort = [(Feedback.rating, False), (Feedback.created_at, True)]  # "down" sorts before "up"
    column_filters = [
        ChoiceFilter(Feedback.rating, values=list(RATINGS.items()), title="评价 Rating"),
        EntryFilter(Feedback.entry_id, "条目 Entry"),
    ]
    list_template = "admin/feedback_list.html"

    search_hint = "问题/回答 question/answer"

    async def list_context(self, request: Request) -> dict[str, Any]:
        """The entries with the most 👎, for the box above the list."""
        return {"thumbs_down": await read(self, _thumbs_down_by_entry)}
