"""Residents' 不满意 ratings, each with its conversation, to be followed up within 15 working days (kb.satisfaction)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from bot.web.admin.base import StaffPage, done, page, read, require_editor, write
from bot.web.admin.conversations import transcript_of
from bot.web.admin.security import can_edit
from bot.web.admin.texts import OCCASIONS, SATISFACTION
from kb.models import Satisfaction
from kb.satisfaction import FOLLOW_UP_DAYS, FollowUpError, due_date, follow_up, local_date, to_follow_up
from kb.stats import satisfaction_counts, window


def _listing(session: Session, done_ones: bool) -> dict[str, Any]:
    start, _, _ = window()
    rows = to_follow_up(session, done_ones)
    return {
        "ratings": [(row, due_date(row.created_at)) for row in rows],
        "counts": satisfaction_counts(session, start),
        "waiting": len(to_follow_up(session)) if done_ones else len(rows),
    }


class SatisfactionView(StaffPage, title="满意度回访 Follow-ups", icon="fa-solid fa-face-frown"):
    """The ratings to follow up (oldest first, due date and overdue shown), and those followed up."""

    @expose("/satisfaction", methods=["GET"], identity="satisfaction")
    async def listing(self, request: Request) -> Response:
        """The list: to follow up (default) or done (?done=1)."""
        done_ones = request.query_params.get("done") == "1"
        info = await read(self, _listing, done_ones)
        return await page(
            self,
            request,
            "admin/satisfaction.html",
            done_ones=done_ones,
            today=local_date(datetime.now(timezone.utc)),
            levels=SATISFACTION,
            occasions=OCCASIONS,
            days=FOLLOW_UP_DAYS,
            **info,
        )

    @expose("/satisfaction/{pk}", methods=["GET", "POST"], identity="satisfaction-item")
    async def item(self, request: Request) -> Response:
        """One rating with its conversation; POST (editors): followed up, with a note."""
        rating_id = int(request.path_params["pk"])
        error = None
        if request.method == "POST":
            user = require_editor(request)
            form = await request.form()
            try:
                await write(self, follow_up, rating_id, str(form.get("note") or ""), user)
            except FollowUpError as err:
                error = str(err)
            else:
                return done(request, request.url_for("admin:view-satisfaction"), "已记录回访。 / Follow-up recorded.")
        row = await read(self, lambda s: s.get(Satisfaction, rating_id))
        if row is None:
            return await page(self, request, "admin/message.html", 404, message="没有这条评价 / No such rating")
        lines, unreachable = await transcript_of(row.session)
        return await page(
            self,
            request,
            "admin/satisfaction_item.html",
            400 if error else 200,
            rating=row,
            due=due_date(row.created_at),
            lines=lines,
            unreachable=unreachable,
            error=error,
            levels=SATISFACTION,
            occasions=OCCASIONS,
            can_edit=can_edit(request),
            days=FOLLOW_UP_DAYS,
        )
