"""What every admin screen shares: database calls off the event loop, role checks, pages, messages."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

from markupsafe import Markup
from sqladmin import BaseView, Flash, ModelView
from sqladmin.filters import AllUniqueStringValuesFilter, BooleanFilter, StaticValuesFilter
from sqladmin.formatters import BASE_FORMATTERS
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL, FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.web.admin.security import can_edit, current_user
from bot.web.admin.texts import local_time
from kb.edits import StaffError
from kb.models import Entry
from kb.users import UserError

T = TypeVar("T")


class KbScreen(Protocol):
    """An admin screen that `bot.web.admin.mount` gave the session factory of its KB."""

    kb_sessions: ClassVar[sessionmaker[Session]]


def kb_sessions(view: KbScreen) -> sessionmaker[Session]:
    """The session factory of the KB the admin was mounted on (autoflush on, unlike SQLAdmin's own).

    `bot.web.admin.mount` sets it on the subclass of each screen it adds, so two admins mounted on two
    databases (as the tests do) never share one.
    """
    return view.kb_sessions


async def read(view: KbScreen, work: Callable[..., T], *args: Any) -> T:
    """Run a query function with a fresh session, in a worker thread."""

    def run() -> T:
        with kb_sessions(view)() as session:
            return work(session, *args)

    return await run_in_threadpool(run)


async def write(view: KbScreen, work: Callable[..., T], *args: Any) -> T:
    """Run a service function in a transaction (committed when it returns), in a worker thread."""

    def run() -> T:
        with kb_sessions(view)() as session, session.begin():
            return work(session, *args)

    return await run_in_threadpool(run)


def require_editor(request: Request) -> str:
    """The editor's username, or 403 for a viewer."""
    if not can_edit(request):
        raise HTTPException(403, "只有编辑可以修改。 / Only editors may change the knowledge base.")
    return current_user(request)


async def page(view: BaseView | ModelView, request: Request, template: str, status: int = 200, **context) -> Response:
    """Render one of the admin's own templates."""
    context.setdefault("model_view", view)
    return await view.templates.TemplateResponse(request, template, context, status_code=status)


def posted_int(form: FormData, name: str) -> int:
    """A whole number posted in a form field, such as the revision an edit started from (0 when empty)."""
    value = form.get(name)
    if isinstance(value, UploadFile):
        raise HTTPException(400, f"{name}: a number, not a file / 应为数字")
    return int(value or 0)


def done(request: Request, url: Any, message: str) -> RedirectResponse:
    """Redirect after a POST, with a message on the next page."""
    Flash.success(request, message)
    return RedirectResponse(str(url), status_code=303)


async def confirmed(
    view: BaseView | ModelView,
    request: Request,
    template: str,
    info: dict[str, Any],
    change: Callable[[FormData], Awaitable[tuple[Any, str]]],
    refused: int = 409,
) -> Response:
    """A page that asks before a change (retire, remove, attach): GET shows `template` with `info`; POST changes.

    `change` reads the posted form, calls kb.edits and returns where to go next and what to say there. When
    kb.edits refuses (StaffError), nothing changed and the page is shown again with why, with status `refused`.
    """
    error = None
    if request.method == "POST":
        try:
            url, message = await change(await request.form())
        except StaffError as err:
            error = str(err)
        else:
            return done(request, url, message)
    return await page(view, request, template, refused if error else 200, error=error, **info)


class _QuietStaffErrors(logging.Filter):
    """SQLAdmin logs any exception of a save as an error; a refused change (conflict, check) is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], (StaffError, UserError)))


logging.getLogger("sqladmin.application").addFilter(_QuietStaffErrors())


class StaffView(ModelView):
    """A model screen that never deletes and never uses SQLAdmin's CSV import/export."""

    can_delete = False
    can_export = False
    can_import = False
    page_size = 25
    page_size_options = [25, 50, 100]
    column_type_formatters = {**BASE_FORMATTERS, datetime: local_time}  # in the town's time zone, lists and details
    search_hint: str | None = None  # what the search box offers; None: the searchable columns' labels
    kb_sessions: ClassVar[sessionmaker[Session]]  # set by bot.web.admin.mount on each screen's subclass

    def search_placeholder(self) -> str:
        """What the search box offers."""
        return self.search_hint or super().search_placeholder()

    def saved_url(self, request: Request, obj: Any) -> URL | None:
        """Where SQLAdmin's create/edit form goes once it saved `obj` (None: SQLAdmin's own choice).

        `StaffAdmin.get_save_redirect_url` asks the screen, so an entry or fact form can lead to the entry's page.
        """
        return None


class ReadOnlyView(StaffView):
    """A screen of what the bot and the KB record (history, questions, feedback): no create or edit form.

    Staff act on these rows only through the screen's own pages (restore a revision, attach a question).
    """

    can_create = False
    can_edit = False


class LookupFilter:
    """A filter of a list with fixed choices, each its own query (`get_filtered_query`), in SQLAdmin's filter protocol."""

    has_operator = False
    template = "sqladmin/filters/lookup_filter.html"
    title = ""
    parameter_name = ""
    choices: list[tuple[str, str]] = []  # (value in the URL, label)
    default_value: Any  # the choice when the URL names none; a filter without one is not applied then

    async def lookups(self, request: Request, model: Any, run_query: Any) -> list[tuple[str, str]]:
        """The choices shown."""
        return list(self.choices)

    async def get_filtered_query(self, query: Any, value: Any, model: Any) -> Any:
        """The list's query narrowed to the chosen value."""
        raise NotImplementedError


class YesNoFilter(BooleanFilter):
    """SQLAdmin's yes/no filter, in both languages."""

    async def lookups(self, request: Request, model: Any, run_query: Any) -> list[tuple[str, str]]:
        """The choices shown."""
        return [("all", "全部 All"), ("true", "是 Yes"), ("false", "否 No")]


class ValuesFilter(AllUniqueStringValuesFilter):
    """SQLAdmin's filter on a column's values, with readable labels and "All" in both languages."""

    def __init__(self, column: Any, title: str, labels: dict[str, str] | None = None):
        super().__init__(column, title=title)
        self.labels = labels or {}

    async def lookups(self, request: Request, model: Any, run_query: Any) -> list[tuple[str, str]]:
        """The choices shown."""
        found = await super().lookups(request, model, run_query)
        return [("__all", "全部 All")] + [(v, self.labels.get(v, v)) for v, _ in found[1:] if v is not None]


def entry_label(title_zh: str, title_en: str) -> str:
    """How a clerk reads an entry's name: its Chinese title, then the English one."""
    return f"{title_zh} {title_en}"


def entry_link(entry_id: str | None, entry: Entry | None) -> Markup:
    """An entry's title as a link to its page (the id only for an entry that no longer exists)."""
    if not entry_id:
        return Markup("")
    label = entry_label(entry.title_zh, entry.title_en) if entry is not None else entry_id
    return Markup('<a href="../entry/details/{}">{}</a>').format(entry_id, label)


class EntryFilter(ValuesFilter):
    """Filter a list by its entry, each entry by its titles (never its id)."""

    async def lookups(self, request: Request, model: Any, run_query: Any) -> list[tuple[str, str]]:
        """The entries the list holds, by title."""
        found = await super().lookups(request, model, run_query)
        ids = [value for value, _ in found[1:]]
        titles = {row[0]: entry_label(row[1], row[2]) for row in await run_query(entry_titles_query(ids))}
        return [found[0]] + sorted(((v, titles.get(v, v)) for v in ids), key=lambda pair: pair[1])


def entry_titles_query(ids: list[str]) -> Select:
    """The titles of some entries: (id, title_zh, title_en)."""
    return select(Entry.id, Entry.title_zh, Entry.title_en).where(Entry.id.in_(ids))


def entry_titles(session: Session, ids: list[str | None]) -> dict[str, tuple[str, str]]:
    """{id: (title_zh, title_en)} of some entries (ids of entries that no longer exist are left out)."""
    wanted = [i for i in set(ids) if i]
    return {row[0]: (row[1], row[2]) for row in session.execute(entry_titles_query(wanted))} if wanted else {}


class StaffPage(BaseView):
    """An admin page of its own (not a model's screens), with the KB's session factory as the model screens have it.

    Its menu name and icon are given with the class: `class X(StaffPage, title="…", icon="fa-solid …")`. SQLAdmin
    names the page after its first @expose (its menu link), so that one comes first in the class.
    """

    kb_sessions: ClassVar[sessionmaker[Session]]  # set by bot.web.admin.mount on each page's subclass

    def __init_subclass__(cls, title: str = "", icon: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if title:
            cls.name = title
        if icon:
            cls.icon = icon


class ChoiceFilter(StaticValuesFilter):
    """SQLAdmin's filter on fixed values, with "All" in both languages."""

    async def lookups(self, request: Request, model: Any, run_query: Any) -> list[tuple[str, str]]:
        """The choices shown."""
        return [("__all", "全部 All"), *self.values]
