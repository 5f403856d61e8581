"""The entry and fact screens: list, search, filter, edit in both languages, add, retire; saves go via kb.edits."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from markupsafe import Markup
from sqladmin import Flash, expose
from sqlalchemy import String, cast, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload
from starlette.datastructures import URL, FormData
from starlette.requests import Request
from starlette.responses import Response
from wtforms import Form

from bot.web.admin.base import (
    ChoiceFilter,
    EntryFilter,
    LookupFilter,
    StaffView,
    ValuesFilter,
    YesNoFilter,
    confirmed,
    entry_label,
    entry_link,
    page,
    posted_int,
    read,
    require_editor,
    write,
)
from bot.web.admin.forms import entry_data, entry_form, fact_data, fact_form
from bot.web.admin.texts import ACTIONS, KINDS, SAVED, STAFF_FIELDS, TOPICS, local_time
from kb.edits import Conflict, add_staff_fact, create_entry, remove_fact, retire_entry, update_entry
from kb.edits import update_fact as update_fact_service
from kb.models import Entry, Fact, Feedback, Revision, UnansweredQuestion, staff_column

T = TypeVar("T")


async def _save_edit(view: StaffView, request: Request, work: Callable[..., T], *args: Any) -> T:
    """Save an edit form through kb.edits, and say so on the next page.

    On a Conflict (someone saved the entry since the form was opened) nothing is saved; it is kept on
    request.state so that the form, which SQLAdmin shows again with what was typed, says who changed what.
    """
    try:
        saved = await write(view, work, *args)
    except Conflict as conflict:
        request.state.conflict = conflict
        raise
    Flash.success(request, SAVED)
    return saved


def _entry_choices(session: Session) -> tuple[list[str], list[tuple[str, str]]]:
    rows = session.execute(select(Entry.id, Entry.title_zh, Entry.title_en, Entry.topic).order_by(Entry.id)).all()
    return sorted({r.topic for r in rows}), [(r.id, entry_label(r.title_zh, r.title_en)) for r in rows]


def _title_cell(entry: Entry) -> Markup:
    retired = Markup(' <span class="badge bg-secondary text-white">停用 retired</span>') if entry.retired else ""
    return Markup('<a href="details/{}"><b>{}</b><br>{}</a>{}<div class="help zt-id"><code>{}</code></div>').format(
        entry.id, entry.title_zh, entry.title_en, retired, entry.id
    )


def _filled(entry: Entry) -> int:
    return sum(1 for name in STAFF_FIELDS if entry.staff_field(name, "zh"))


def _entry_page(session: Session, entry_id: str) -> dict[str, Any]:
    """What the entry's page shows besides its columns: facts, recent changes, residents' signals."""
    entry = session.get(Entry, entry_id, options=[selectinload(Entry.facts)])
    if entry is None:
        return {}
    revisions = session.scalars(
        select(Revision).where(Revision.entry_id == entry_id).order_by(Revision.id.desc()).limit(5)
    ).all()
    thumbs_down = session.scalar(
        select(func.count(Feedback.id)).where(Feedback.entry_id == entry_id, Feedback.rating == "down")
    )
    attached = session.scalar(select(func.count(UnansweredQuestion.id)).where(UnansweredQuestion.entry_id == entry_id))
    related = {e.id: e for e in session.scalars(select(Entry).where(Entry.id.in_(entry.related or [])))}
    return {
        "entry": entry,
        "facts": [f for f in entry.facts if not f.retired],
        "revisions": revisions,
        "thumbs_down": thumbs_down or 0,
        "attached": attached or 0,
        "related_entries": [related[r] for r in entry.related or [] if r in related],
    }


class ContactsFilter(LookupFilter):
    """Filter entries by whether staff gave a phone number, an address or opening hours."""

    title = "联系方式 Contacts"
    parameter_name = "contacts"
    choices = [("__all", "全部 All"), ("missing", "没有电话、地址、时间 None given"), ("given", "已填 Given")]

    async def get_filtered_query(self, query: Any, value: Any, model: Any) -> Any:
        """Entries without any of phone, address, hours (either language), or with at least one."""
        columns = [getattr(Entry, f"{name}_{lang}") for name in ("phone", "address", "hours") for lang in ("zh", "en")]
        given = or_(*(func.length(func.trim(func.coalesce(c, ""))) > 0 for c in columns))
        if value == "missing":
            return query.filter(~given)
        if value == "given":
            return query.filter(given)
        return query


# The first staff field's column: the entry list shows there how many of the staff fields are filled.
_STAFF_DETAILS = staff_column("office", "zh")


class EntryView(StaffView, model=Entry):
    """Entries: what the bot knows about one service, in Chinese and English."""

    name = "条目 Entry"
    name_plural = "条目 Entries"
    icon = "fa-solid fa-book-open"
    column_list = [Entry.title_zh, Entry.topic, _STAFF_DETAILS, Entry.updated_at]
    column_labels = {
        Entry.title_zh: "条目 Entry",
        Entry.topic: "主题 Topic",
        _STAFF_DETAILS: "已填服务信息 Staff details",
        Entry.updated_at: "最后修改 Last changed",
    }
    column_formatters = {
        Entry.title_zh: lambda m, a: _title_cell(m),
        Entry.topic: lambda m, a: TOPICS.get(m.topic, m.topic),
        # How many of the eight staff-only fields are filled, shown under the first one's column.
        _STAFF_DETAILS: lambda m, a: f"{_filled(m)} / {len(STAFF_FIELDS)}",
        Entry.updated_at: lambda m, a: Markup("{}<div class='help'>{}</div>").format(
            local_time(m.updated_at), m.updated_by
        ),
    }
    column_searchable_list = [
        Entry.id,
        Entry.title_zh,
        Entry.title_en,
        Entry.summary_zh,
        Entry.summary_en,
        Entry.aliases_zh,
        Entry.aliases_en,
    ]
    column_sortable_list = [Entry.id, Entry.topic, Entry.title_zh, Entry.updated_at]
    column_default_sort = [(Entry.topic, False), (Entry.id, False)]
    column_filters = [
        ValuesFilter(Entry.topic, "主题 Topic", TOPICS),
        YesNoFilter(Entry.retired, title="已停用 Retired"),
        YesNoFilter(Entry.staff_edited, title="工作人员改过 Edited by staff"),
        ContactsFilter(),
    ]
    details_template = "admin/entry_details.html"
    edit_template = "admin/entry_form.html"
    create_template = "admin/entry_form.html"

    search_hint = "标题/别名 title/name"

    def search_query(self, stmt, term: str):
        """Search ids, titles, summaries and names (also in JSON written before names were stored readable)."""
        escaped = json.dumps(term)[1:-1]
        columns = [Entry.id, Entry.title_zh, Entry.title_en, Entry.summary_zh, Entry.summary_en]
        names = [cast(Entry.aliases_zh, String), cast(Entry.aliases_en, String)]
        return stmt.filter(
            or_(
                false(),
                *(c.ilike(f"%{term}%") for c in columns),
                *(n.icontains(term, autoescape=True) for n in names),
                *(n.contains(escaped, autoescape=True) for n in names if escaped != term),
            )
        )

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        """The entry form, with today's topics and entries to choose from."""
        topics, entries = await read(self, _entry_choices)
        return entry_form(topics, entries)

    async def get_form_data_for_edit(self, obj: Entry) -> dict[str, Any]:
        """The form's starting values: every column, and the revision the edit starts from."""
        data = {
            "revision": obj.revision,
            "id": obj.id,
            "topic": obj.topic,
            "title_zh": obj.title_zh,
            "title_en": obj.title_en,
            "summary_zh": obj.summary_zh,
            "summary_en": obj.summary_en,
            "aliases_zh": list(obj.aliases_zh or []),
            "aliases_en": list(obj.aliases_en or []),
            "situations_zh": list(obj.situations_zh or []),
            "situations_en": list(obj.situations_en or []),
            "related": list(obj.related or []),
        }
        for name in STAFF_FIELDS:
            for lang in ("zh", "en"):
                data[f"{name}_{lang}"] = getattr(obj, f"{name}_{lang}") or ""
        return data

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Entry:
        """Add an entry through kb.edits (checked, with a revision; the bot finds it at once)."""
        user = require_editor(request)
        entry = await write(self, create_entry, entry_data(data), user)
        Flash.success(request, SAVED)
        return entry

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Entry:
        """Save an edit through kb.edits; a stale revision number is a conflict and nothing is saved."""
        user = require_editor(request)
        payload = entry_data(data)
        payload.pop("id")
        return await _save_edit(self, request, update_entry, pk, payload, int(data.get("revision") or 0), user)

    def saved_url(self, request: Request, obj: Entry) -> URL:
        """A saved entry form leads to the entry's page."""
        return request.url_for("admin:details", identity=self.identity, pk=obj.id)

    async def details_context(self, request: Request) -> dict[str, Any]:
        """Facts, recent changes and residents' signals for the entry's page."""
        return {**await read(self, _entry_page, request.path_params["pk"]), "actions": ACTIONS, "kinds": KINDS}

    async def edit_context(self, request: Request) -> dict[str, Any]:
        """The entry's facts, shown under the form (they are edited on their own screen)."""
        return await read(self, _entry_page, request.path_params["pk"])

    @expose("/retire/{pk}", methods=["GET", "POST"])
    async def retire(self, request: Request) -> Response:
        """Ask, then retire the entry (or bring a retired one back); nothing is deleted."""
        user = require_editor(request)
        pk = request.path_params["pk"]
        info = await read(self, _entry_page, pk)
        if not info:
            return await page(self, request, "admin/message.html", 404, message="没有这个条目 / No such entry")

        async def change(form: FormData) -> tuple[URL, str]:
            retired = form.get("retired") == "1"
            await write(self, retire_entry, pk, posted_int(form, "revision"), user, retired)
            message = "条目已停用,机器人不再使用它。 / Retired: the bot no longer uses it."
            if not retired:
                message = "条目已重新启用。 / The entry is back in use."
            return request.url_for("admin:details", identity=self.identity, pk=pk), message

        return await confirmed(self, request, "admin/entry_retire.html", info, change)


def _fact_page(session: Session, fact_id: int) -> dict[str, Any]:
    fact = session.get(Fact, fact_id)
    if fact is None:
        return {}
    entry = session.get(Entry, fact.entry_id)
    return {"fact": fact, "entry": entry}


class FactView(StaffView, model=Fact):
    """Facts: the figures and statements of an entry; report facts keep their quote, staff facts say who added them."""

    name = "事实 Fact"
    name_plural = "事实 Facts"
    icon = "fa-solid fa-list-check"
    column_list = [Fact.entry_id, Fact.kind, Fact.figure, Fact.text_zh, Fact.source, Fact.created_by]
    column_details_list = [
        Fact.entry_id,
        Fact.key,
        Fact.kind,
        Fact.figure,
        Fact.figure_en,
        Fact.text_zh,
        Fact.text_en,
        Fact.keywords_zh,
        Fact.keywords_en,
        Fact.quote,
        Fact.sentence,
        Fact.source,
        Fact.created_by,
        Fact.created_at,
    ]
    column_labels = {
        Fact.entry_id: "所属条目 Entry",
        Fact.key: "编号 Key",
        Fact.kind: "类型 Kind",
        Fact.figure: "数字 Figure",
        Fact.figure_en: "英文数字 Figure (en)",
        Fact.text_zh: "中文内容 Text (zh)",
        Fact.text_en: "英文内容 Text (en)",
        Fact.keywords_zh: "中文关键词 Keywords (zh)",
        Fact.keywords_en: "英文关键词 Keywords (en)",
        Fact.quote: "报告原文 Report quote",
        Fact.sentence: "报告原句 Report sentence",
        Fact.source: "来源 Source",
        Fact.created_by: "提供人 Provided by",
        Fact.created_at: "提供时间 Provided at",
    }
    _source = {"report": "工作报告 Report", "staff": "工作人员 Staff"}
    # Kind and source by their names, on the list and on the details page.
    _names: dict[str | InstrumentedAttribute[Any], Callable[[Any, Any], Any]] = {
        Fact.kind: lambda m, a: KINDS.get(m.kind, m.kind),
        Fact.source: lambda m, a: FactView._source.get(m.source, m.source),
    }
    column_formatters = {
        **_names,
        Fact.entry_id: lambda m, a: entry_link(m.entry_id, m.entry),
    }
    column_formatters_detail = {
        **_names,
        Fact.entry_id: lambda m, a: entry_link(m.entry_id, m.entry),
        Fact.keywords_zh: lambda m, a: ", ".join(m.keywords_zh or []),
        Fact.keywords_en: lambda m, a: ", ".join(m.keywords_en or []),
    }
    column_searchable_list = [Fact.entry_id, Fact.key, Fact.figure, Fact.text_zh, Fact.text_en]
    column_sortable_list = [Fact.source, Fact.created_at]
    column_default_sort = [(Fact.entry_id, False), (Fact.position, False)]
    column_filters = [
        ChoiceFilter(Fact.source, values=list(_source.items()), title="来源 Source"),
        EntryFilter(Fact.entry_id, "所属条目 Entry"),
    ]
    details_template = "admin/fact_details.html"
    edit_template = "admin/fact_form.html"
    create_template = "admin/fact_form.html"

    search_hint = "内容/数字 text/figure"

    def list_query(self, request: Request):
        """Facts still in use (a fact taken out of an entry stays in its history only), with their entry's title."""
        return select(Fact).where(Fact.retired.is_(False)).options(selectinload(Fact.entry))

    def count_query(self, request: Request):
        """Count of the facts still in use."""
        return select(func.count(Fact.id)).where(Fact.retired.is_(False))

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        """The fact form, with today's entries to choose from."""
        _, entries = await read(self, _entry_choices)
        return fact_form(entries)

    async def get_form_data_for_edit(self, obj: Fact) -> dict[str, Any]:
        """The form's starting values, and the revision of the fact's entry the edit starts from."""
        revision = await read(self, lambda s: s.scalar(select(Entry.revision).where(Entry.id == obj.entry_id)))
        return {
            "entry_revision": revision,
            "entry_id": obj.entry_id,
            "kind": obj.kind,
            "figure": obj.figure or "",
            "figure_en": obj.figure_en or "",
            "text_zh": obj.text_zh,
            "text_en": obj.text_en,
            "keywords_zh": list(obj.keywords_zh or []),
            "keywords_en": list(obj.keywords_en or []),
        }

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Fact:
        """Add a staff-provided fact to an entry (who and when recorded)."""
        user = require_editor(request)
        fact = await write(self, add_staff_fact, data.get("entry_id"), fact_data(data), user)
        Flash.success(request, SAVED)
        return fact

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> Fact:
        """Correct a fact; its entry's revision number guards against overwriting someone else's save."""
        user = require_editor(request)
        revision = int(data.get("entry_revision") or 0)
        return await _save_edit(self, request, update_fact_service, int(pk), fact_data(data), revision, user)

    def saved_url(self, request: Request, obj: Fact) -> URL:
        """A saved fact form leads to its entry's page."""
        return request.url_for("admin:details", identity="entry", pk=obj.entry_id)

    async def edit_context(self, request: Request) -> dict[str, Any]:
        """The fact's entry and its quote, shown read-only beside the form."""
        return await read(self, _fact_page, int(request.path_params["pk"]))

    async def details_context(self, request: Request) -> dict[str, Any]:
        """The fact's entry, for the page's links."""
        return await read(self, _fact_page, int(request.path_params["pk"]))

    @expose("/remove/{pk}", methods=["GET", "POST"])
    async def remove(self, request: Request) -> Response:
        """Ask, then take the fact out of its entry (it stays in the entry's history)."""
        user = require_editor(request)
        info = await read(self, _fact_page, int(request.path_params["pk"]))
        if not info or info["fact"].retired:
            return await page(self, request, "admin/message.html", 404, message="没有这条事实 / No such fact")

        async def change(form: FormData) -> tuple[URL, str]:
            await write(self, remove_fact, info["fact"].id, posted_int(form, "revision"), user)
            url = request.url_for("admin:details", identity="entry", pk=info["entry"].id)
            return url, "已移除,可在修改记录中恢复。 / Removed; it can be restored from the history."

        return await confirmed(self, request, "admin/fact_remove.html", info, change)
