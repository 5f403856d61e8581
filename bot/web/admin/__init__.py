"""The staff admin at /admin: sign in, keep the knowledge base current, see what residents could not get.

`mount(app)` adds it to the gateway (FastAPI). Screens are SQLAdmin's; every save goes through kb.edits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqladmin import Admin, ModelView
from sqladmin.authentication import login_required
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL, FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bot import settings
from bot.web.admin import texts
from bot.web.admin.accounts import StaffUserView
from bot.web.admin.base import StaffView
from bot.web.admin.conversations import ConversationView
from bot.web.admin.dashboard import FillFirstView, StatsView, dashboard_context
from bot.web.admin.entries import EntryView, FactView
from bot.web.admin.exchange import ExchangeView
from bot.web.admin.handover import HandoverView, LeftMessageView
from bot.web.admin.history import RevisionView, changed_fields
from bot.web.admin.inbox import FeedbackView, QuestionView
from bot.web.admin.reports import ReportImportView
from bot.web.admin.satisfaction import SatisfactionView
from bot.web.admin.security import RoleAuthorization, StaffAuth, can_edit, csrf_token, current_role, current_user
from kb.db import get_engine, session_factory
from kb.shape import STAFF_FIELD_NAMES

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
VIEWS = (
    EntryView,
    FactView,
    RevisionView,
    QuestionView,
    FillFirstView,
    FeedbackView,
    SatisfactionView,
    HandoverView,
    LeftMessageView,
    ConversationView,
    ExchangeView,
    ReportImportView,
    StaffUserView,
    StatsView,
)


class StaffAdmin(Admin):
    """SQLAdmin with a first page that says what needs doing."""

    kb_sessions: sessionmaker[Session]  # the KB's session factory, set by `mount`

    @login_required
    async def index(self, request: Request) -> Response:
        """The start page: the last 30 days in charts, what to do next, recent changes (bot.web.admin.dashboard)."""

        def load() -> dict[str, Any]:
            with self.kb_sessions() as session:
                return dashboard_context(session)

        context = await run_in_threadpool(load)
        return await self.templates.TemplateResponse(
            request, "sqladmin/index.html", {**context, "changed_fields": changed_fields}
        )

    @staticmethod
    def get_save_redirect_url(request: Request, form: FormData, model_view: ModelView, obj: Any) -> str | URL:
        """After a create/edit form saved: the page the screen names (an entry's page), else SQLAdmin's choice."""
        url = model_view.saved_url(request, obj) if isinstance(model_view, StaffView) else None
        return url if url is not None else Admin.get_save_redirect_url(request, form, model_view, obj)


def mount(app: FastAPI, url: str | None = None) -> None:
    """Mount the staff admin under /admin on the app, on the KB database (settings.KB_DATABASE_URL by default)."""
    url = url or settings.KB_DATABASE_URL
    admin = StaffAdmin(
        app,
        # its own factory: SQLAdmin turns autoflush off on the one it is given, and kb.db's is shared (cached)
        session_maker=sessionmaker(get_engine(url), expire_on_commit=False),
        base_url="/admin",
        title=texts.TITLE,
        favicon_url="/admin/zt/favicon.svg",
        templates_dir=str(TEMPLATES),
        authentication_backend=StaffAuth(session_factory(url), "/admin"),
        authorization_backend=RoleAuthorization(),
    )
    admin.kb_sessions = session_factory(url)  # for the dashboard; each screen gets it below
    # The admin's own CSS and script, as files: the gateway's Content-Security-Policy allows no inline ones.
    admin.admin.router.routes.insert(1, Mount("/zt", app=StaticFiles(directory=STATIC), name="zt-static"))
    env = admin.templates.env
    # jinja2.ext.i18n (which SQLAdmin adds) gives the environment this method at runtime; its type does not show it.
    env.install_gettext_callables(texts.gettext, texts.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        csrf_token=csrf_token,
        current_user=current_user,
        current_role=current_role,
        can_edit=can_edit,
        local_time=texts.local_time,
        local_iso=texts.local_iso,
        texts=texts,
        staff_fields=STAFF_FIELD_NAMES,
    )
    for view in VIEWS:  # a subclass per mount: SQLAdmin keeps the admin and database on the view class
        attrs = {"__module__": view.__module__, "kb_sessions": admin.kb_sessions}  # read by base.kb_sessions
        admin.add_view(type(view.__name__, (view,), attrs))
