"""What every admin screen shares: database calls off the event loop, role checks, pages, messages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqladmin import BaseView, Flash, ModelView
from sqladmin.filters import AllUniqueStringValuesFilter, BooleanFilter, StaticValuesFilter
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.web.admin.security import can_edit, current_user
from kb.staff import StaffError
from kb.users import UserError

T = TypeVar("T")


def kb_sessions(view: BaseView | ModelView) -> sessionmaker[Session]:
    """The session factory of the KB the admin was mounted on (autoflush on, unlike SQLAdmin's own)."""
    return view._admin_ref.kb_sessions


async def read(view: BaseView | ModelView, work: Callable[..., T], *args: Any) -> T:
    """Run a query function with a fresh session, in a worker thread."""

    def run() -> T:
        with kb_sessions(view)() as session:
            return work(session, *args)

    return await run_in_threadpool(run)


async def write(view: BaseView | ModelView, work: Callable[..., T], *args: Any) -> T:
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


def after_save(request: Request, url: Any, message: str) -> None:
    """Go to `url` after SQLAdmin's create/edit saved, with a message (SQLAdmin reads this request attribute)."""
    Flash.success(request, message)
    request.state._sqladmin_after_change_response = RedirectResponse(str(url), status_code=302)


async def page(view: BaseView | ModelView, request: Request, template: str, status: int = 200, **context) -> Response:
    """Render one of the admin's own templates."""
    context.setdefault("model_view", view)
    return await view.templates.TemplateResponse(request, template, context, status_code=status)


def done(request: Request, url: Any, message: str) -> RedirectResponse:
    """Redirect after a POST, with a message on the next page."""
    Flash.success(request, message)
    return RedirectResponse(str(url), status_code=303)


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


class ChoiceFilter(StaticValuesFilter):
    """SQLAdmin's filter on fixed values, with "All" in both languages."""

    async def lookups(self, request: Request, model: Any, run_query: Any) -> list[tuple[str, str]]:
        """The choices shown."""
        return [("__all", "全部 All"), *self.values]
