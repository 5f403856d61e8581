"""Residents' conversations: find one (by its words or its session id) and delete it when the resident asks staff
to (by phone, at the counter; PIPL Art. 47). Every deletion writes an audit line: who, which session, when.

Viewers see the list; editors and admins delete. The conversations are in Rasa's tracker store, not the KB
(kb/retention.py reads and deletes them); the audit lines are in the KB (kb.models.SessionDeletion).
"""

from __future__ import annotations

from typing import Any

from sqladmin import expose
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot import settings
from bot.web.admin.base import StaffPage, done, kb_sessions, page, read, require_editor
from bot.web.admin.security import can_edit
from kb import retention
from kb.models import Feedback

UNREACHABLE = "对话数据库暂时连不上,请稍后再试。 / The conversation database does not answer: try again later."


async def transcript_of(session_id: str) -> tuple[list[Any], str | None]:
    """A conversation's masked lines from the tracker store, or none and why (the store does not answer)."""
    try:
        return await run_in_threadpool(retention.transcript, session_id), None
    except SQLAlchemyError:
        return [], UNREACHABLE


def _feedback_count(session: Session, session_id: str) -> int:
    return session.scalar(select(func.count(Feedback.id)).where(Feedback.session == session_id)) or 0


class ConversationView(StaffPage, title="居民对话 Conversations", icon="fa-solid fa-comments"):
    """The latest conversations, a search, deleting one with confirmation, and the log of deletions."""

    @expose("/conversations", methods=["GET"], identity="conversations")
    async def conversations(self, request: Request) -> Response:
        """The list (newest first, or what the search finds) and the deletion log."""
        search = str(request.query_params.get("q") or "").strip()[:200]
        error = None
        try:
            found = await run_in_threadpool(retention.conversations, search)
        except SQLAlchemyError:
            found, error = [], UNREACHABLE
        return await page(
            self,
            request,
            "admin/conversations.html",
            conversations=found,
            search=search,
            deletions=await read(self, retention.deletions),
            can_edit=can_edit(request),
            retention_days=settings.RETENTION_DAYS,
            error=error,
        )

    @expose("/conversations/delete/{session}", methods=["GET", "POST"], identity="conversations-delete")
    async def delete(self, request: Request) -> Response:
        """GET: what would be deleted; POST (editors): delete it and write the audit line."""
        session_id = str(request.path_params["session"])
        try:
            retention.check_session_id(session_id)
        except retention.RetentionError:
            return await page(self, request, "admin/message.html", 400, message="会话编号无效 / Not a session id")
        if request.method == "POST":
            user = require_editor(request)
            try:
                result = await run_in_threadpool(
                    lambda: retention.delete_session(session_id, user, kb_sessions=kb_sessions(self))
                )
            except SQLAlchemyError:
                return await page(self, request, "admin/message.html", 503, message=UNREACHABLE)
            counts = f"{result.events} 条对话事件 events, {result.feedback} 条评价 feedback"
            return done(
                request,
                request.url_for("admin:view-conversations"),
                f"已删除会话 Deleted conversation {session_id}: {counts}",
            )
        info: dict[str, Any] = {"session_id": session_id, "conversation": None, "error": None}
        try:
            matches = await run_in_threadpool(retention.conversations, session_id)
            info["conversation"] = next((c for c in matches if c.session == session_id), None)
        except SQLAlchemyError:
            info["error"] = UNREACHABLE
        info["feedback"] = await read(self, _feedback_count, session_id)
        return await page(self, request, "admin/conversation_delete.html", can_edit=can_edit(request), **info)
