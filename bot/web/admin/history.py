"""The history screen: every revision of every entry (who, when, before, after), and restoring one."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from sqladmin import expose
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from bot.web.admin.base import (
    ChoiceFilter,
    EntryFilter,
    ReadOnlyView,
    ValuesFilter,
    done,
    entry_label,
    entry_link,
    entry_titles,
    page,
    posted_int,
    read,
    require_editor,
    write,
)
from bot.web.admin.texts import ACTIONS, KINDS, TOPICS, change_summary, local_time, path_label
from kb.diff import diff
from kb.edits import StaffError, restore_revision
from kb.models import Entry, Revision


def changed_fields(revision: Revision) -> str:
    """A short list of what a revision changed."""
    if revision.before is None:
        return "新建 created"
    names = change_summary(diff(revision.before, revision.after))
    more = f" … (+{len(names) - 3})" if len(names) > 3 else ""
    return "; ".join(names[:3]) + more if names else "—"


def _shown(path: str, value: Any, titles: dict[str, tuple[str, str]]) -> str:
    """A changed value as a clerk reads it: lists joined, related entries, topics and kinds by their names, "—" for
    nothing."""
    if value in (None, "", []):
        return "—"
    if path == "related" and isinstance(value, list):
        value = [entry_label(*titles[v]) if v in titles else v for v in value]
    elif path == "topic":
        value = TOPICS.get(str(value), value)
    elif path.endswith(".kind"):
        value = KINDS.get(str(value), value)
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _revision_page(session: Session, revision_id: int) -> dict[str, Any]:
    revision = session.get(Revision, revision_id)
    if revision is None:
        return {}
    entry = session.get(Entry, revision.entry_id)
    changes = [c for c in diff(revision.before, revision.after) if c.path != "id"]  # the id: on the detail line
    titles = entry_titles(
        session, [v for c in changes if c.path == "related" for v in (c.before or []) + (c.after or [])]
    )
    return {
        "revision": revision,
        "entry": entry,
        "changes": [
            (path_label(c.path), _shown(c.path, c.before, titles), _shown(c.path, c.after, titles)) for c in changes
        ],
        "is_current": entry is not None and entry.revision == revision.revision,
    }


class RevisionView(ReadOnlyView, model=Revision):
    """History: one row per saved change of an entry; any of them can be restored."""

    name = "修改记录 Change"
    name_plural = "修改记录 History"
    icon = "fa-solid fa-clock-rotate-left"
    column_list = [
        Revision.changed_at,
        Revision.entry_id,
        Revision.revision,
        Revision.action,
        Revision.changed_by,
        Revision.after,
    ]
    column_labels = {
        Revision.changed_at: "时间 When",
        Revision.entry_id: "条目 Entry",
        Revision.revision: "版本 Revision",
        Revision.action: "操作 What",
        Revision.changed_by: "修改人 Who",
        Revision.after: "改了什么 Changed",
    }
    column_formatters = {
        Revision.changed_at: lambda m, a: Markup('<a href="details/{}">{}</a>').format(m.id, local_time(m.changed_at)),
        Revision.entry_id: lambda m, a: entry_link(m.entry_id, m.entry),
        Revision.action: lambda m, a: ACTIONS.get(m.action, m.action),
        Revision.after: lambda m, a: changed_fields(m),
    }
    column_searchable_list = [Revision.entry_id, Revision.changed_by]
    column_sortable_list = [Revision.changed_at, Revision.changed_by]
    column_default_sort = [(Revision.id, True)]
    column_filters = [
        EntryFilter(Revision.entry_id, "条目 Entry"),
        ValuesFilter(Revision.changed_by, "修改人 Who"),
        ChoiceFilter(Revision.action, values=list(ACTIONS.items()), title="操作 What"),
    ]
    details_template = "admin/revision_details.html"

    search_hint = "条目/修改人 entry/who"

    def search_query(self, stmt, term: str):
        """Find changes by the entry's title (either language) or id, or by who made them."""
        titles = select(Entry.id).where(or_(Entry.title_zh.ilike(f"%{term}%"), Entry.title_en.ilike(f"%{term}%")))
        return stmt.filter(
            or_(
                Revision.entry_id.in_(titles),
                Revision.entry_id.ilike(f"%{term}%"),
                Revision.changed_by.ilike(f"%{term}%"),
            )
        )

    async def details_context(self, request: Request) -> dict[str, Any]:
        """The revision's changes, field by field, and whether it is the entry's current state."""
        return {**await read(self, _revision_page, int(request.path_params["pk"])), "path_label": path_label}

    @expose("/restore/{pk}", methods=["POST"])
    async def restore(self, request: Request) -> Response:
        """Make the entry what it was after this revision (saved as a new revision)."""
        user = require_editor(request)
        revision_id = int(request.path_params["pk"])
        form = await request.form()
        try:
            entry = await write(self, restore_revision, revision_id, posted_int(form, "revision"), user)
        except StaffError as err:
            info = await read(self, _revision_page, revision_id)
            return await page(
                self, request, "admin/revision_details.html", 409, error=str(err), path_label=path_label, **info
            )
        url = request.url_for("admin:details", identity="entry", pk=entry.id)
        return done(request, url, "已恢复到这个版本。 / Restored: the entry is as it was then.")
