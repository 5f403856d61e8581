"""The staff side of the live handover (转人工; kb/handover.py): for editors and admins only.

- 转人工 Live chat (/admin/handover): the queue (waiting, oldest first) and the conversations being answered,
  each with its masked history (what the resident asked the bot, then the conversation with staff); take, reply,
  transfer to another editor or admin, close. Take is one conditional UPDATE: of two staff members who press it
  at once, one gets the conversation and the other is told who has it (409). New messages and new conversations
  arrive without a reload through server-sent events (/admin/handover/stream, read from the database, so any
  gateway serves them; static/handover.js).
- 留言 Messages (/admin/handover-messages): what residents left when nobody could take their conversation; the
  callback number is shown in full only on the page of one message; staff mark a message done.
- 转人工设置 Settings (/admin/handover/settings): office hours, holidays, minutes before a message is offered.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import sqlalchemy as sa
from sqladmin import expose
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sse_starlette.sse import EventSourceResponse
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from actions.i18n import week_text
from bot import settings
from bot.web.admin.base import StaffPage, done, page, read, write
from bot.web.admin.conversations import transcript_of
from bot.web.admin.security import can_edit, current_user
from bot.web.admin.texts import local_time
from kb import handover as desk
from kb.models import Handover, HandoverEvent, ResidentMessage, StaffUser

STREAM_SECONDS = 300.0
STATES = {
    "waiting": "排队中 Waiting",
    "active": "接待中 Active",
    "closed": "已结束 Closed",
    "cancelled": "居民已离开 Left by the resident",
    "expired": "无人接待,已转留言 Not taken in time",
    "transferred": "已转交 Transferred",
}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    if isinstance(value, UploadFile):
        raise HTTPException(400, f"{name}: text, not a file / 应为文字")
    return str(value or "")


def queue_rows(session: Session) -> list[dict[str, Any]]:
    """The waiting and active conversations as the page lists them (JSON for the live updates)."""
    rows = []
    for place, handover in enumerate(desk.handovers_to_answer(session), start=1):
        first = session.scalar(
            sa.select(HandoverEvent.text)
            .where(HandoverEvent.handover_id == handover.id, HandoverEvent.kind == "resident")
            .order_by(HandoverEvent.id.desc())
            .limit(1)
        )
        rows.append(
            {
                "id": handover.id,
                "state": handover.state,
                "state_label": STATES[handover.state],
                "position": place if handover.state == "waiting" else None,
                "since": local_time(handover.created_at),
                "lang": handover.lang,
                "taken_by": handover.taken_by or "",
                "last": (first or "")[:60],
            }
        )
    return rows


def _agents(session: Session) -> list[str]:
    return list(
        session.scalars(
            sa.select(StaffUser.username)
            .where(StaffUser.active.is_(True), StaffUser.role.in_(desk.AGENT_ROLES))
            .order_by(StaffUser.username)
        )
    )


def _desk(session: Session, handover_id: int | None) -> dict[str, Any]:
    desk.expire_overdue(session, desk.current_hours(session))
    session.commit()
    info: dict[str, Any] = {
        "rows": queue_rows(session),
        "after": desk.last_event_id(session),
        "agents": _agents(session),
        "handover": None,
        "events": [],
    }
    if handover_id is not None:
        info["handover"] = session.get(Handover, handover_id)
        info["events"] = desk.history(session, handover_id)
    return info


def _stream_poll(session: Session, after: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    desk.expire_overdue(session, desk.current_hours(session))
    session.commit()
    events = session.scalars(
        sa.select(HandoverEvent).where(HandoverEvent.id > after).order_by(HandoverEvent.id).limit(200)
    ).all()
    out = [
        {
            "id": e.id,
            "handover": e.handover_id,
            "kind": e.kind,
            "text": STATES.get(e.text, e.text) if e.kind == "state" else e.text,
            "author": e.author or "",
            "at": local_time(e.created_at),
        }
        for e in events
    ]
    return out, queue_rows(session)


class HandoverView(StaffPage, title="转人工 Live chat", icon="fa-solid fa-headset"):
    """The queue and the conversations with staff, live."""

    def is_accessible(self, request: Request) -> bool:
        """Editors and admins answer residents; viewers do not see the page."""
        return can_edit(request)

    def is_visible(self, request: Request) -> bool:
        """In the menu for editors and admins only."""
        return can_edit(request)

    @expose("/handover", methods=["GET"], identity="handover")
    async def desk_page(self, request: Request) -> Response:
        """The queue, and one conversation (?id=) with its history and what staff can do."""
        raw = request.query_params.get("id", "")
        if raw and not raw.isdigit():
            raise HTTPException(400, "id: a number / 应为编号")
        return await self._render(request, int(raw) if raw else None)

    async def _render(self, request: Request, handover_id: int | None, error: str = "", status: int = 200) -> Response:
        info = await read(self, _desk, handover_id)
        handover = info["handover"]
        if handover_id is not None and handover is None:
            return await page(self, request, "admin/message.html", 404, message="没有这个对话 / No such conversation")
        lines, unreachable = await transcript_of(handover.session) if handover is not None else ([], None)
        return await page(
            self,
            request,
            "admin/handover.html",
            status,
            states=STATES,
            lines=lines,
            unreachable=unreachable,
            error=error,
            me=current_user(request),
            **info,
        )

    @expose("/handover/{pk}/{what}", methods=["POST"], identity="handover-act")
    async def act(self, request: Request) -> Response:
        """take | reply | transfer | close one conversation; refused (409) when another staff member was first."""
        raw, what = request.path_params["pk"], request.path_params["what"]
        if not raw.isdigit() or what not in ("take", "reply", "transfer", "close"):
            raise HTTPException(404)
        handover_id, user = int(raw), current_user(request)
        form = await request.form()
        try:
            if what == "take":
                await write(self, desk.take, handover_id, user)
            elif what == "reply":
                await write(self, desk.staff_says, handover_id, user, _text(form, "text"))
            elif what == "transfer":
                await write(self, desk.transfer, handover_id, user, _text(form, "to"))
            else:
                await write(self, desk.close, handover_id, user)
        except desk.HandoverError as err:
            return await self._render(request, handover_id, str(err), err.status)
        target = str(request.url_for("admin:view-handover")) + f"?id={handover_id}"
        if what == "reply":
            return RedirectResponse(target, status_code=303)
        said = {"take": "已接入 Taken", "transfer": "已转交 Transferred", "close": "已结束 Closed"}[what]
        return done(request, target, said)

    @expose("/handover-stream", methods=["GET"], identity="handover-stream")
    async def stream(self, request: Request) -> Response:
        """Server-sent events: `handover` (each new event of any conversation) and `queue` (the list when it
        changes), from the cursor ?after= (or Last-Event-ID)."""
        values = [request.headers.get("last-event-id", ""), request.query_params.get("after", "")]
        if any(v and not v.isdigit() for v in values):
            raise HTTPException(400, "after: an event number / 应为编号")
        cursor = max([int(v) for v in values if v], default=0)

        async def events() -> Any:
            after, shown, ends = cursor, None, time.monotonic() + STREAM_SECONDS
            while time.monotonic() < ends and not await request.is_disconnected():
                try:
                    new, rows = await read(self, _stream_poll, after)
                except SQLAlchemyError:
                    return
                for event in new:
                    after = event["id"]
                    yield {"id": str(after), "event": "handover", "data": json.dumps(event, ensure_ascii=False)}
                if rows != shown:
                    shown = rows
                    yield {"event": "queue", "data": json.dumps(rows, ensure_ascii=False)}
                await asyncio.sleep(settings.HANDOVER_POLL_SECONDS)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return EventSourceResponse(events(), ping=15, headers=headers)

    @expose("/handover-settings", methods=["GET", "POST"], identity="handover-settings")
    async def settings_page(self, request: Request) -> Response:
        """Office hours, holidays and the minutes before a message is offered (empty: the ZHITANG_* defaults).
        The hours typed are kept structured; the page shows them back as residents read them, in both languages."""
        error, typed = "", {}
        if request.method == "POST":
            form = await request.form()
            typed = {name: _text(form, name) for name in ("office_hours", "holidays", "wait_minutes", "hours_note")}
            minutes = typed["wait_minutes"].strip()
            try:
                if not minutes.isdigit():
                    raise desk.HandoverError("等待分钟数应为整数 / The minutes must be a whole number", 400)
                await write(
                    self,
                    desk.save_hours,
                    typed["office_hours"],
                    typed["holidays"],
                    int(minutes),
                    current_user(request),
                    typed["hours_note"],
                )
            except desk.HandoverError as err:
                error = str(err)
            else:
                return done(request, request.url_for("admin:view-handover-settings"), "已保存 Saved")
        hours = await read(self, desk.current_hours)
        said = {lang: week_text(hours.week, lang) for lang in ("zh", "en")}
        shown = {
            "office_hours": said["zh"] if hours.week else "",
            "holidays": "\n".join(sorted(d.isoformat() for d in hours.holidays)),
            "wait_minutes": str(hours.wait_minutes),
            "hours_note": hours.note,
            **typed,  # what was refused stays in the form
        }
        return await page(
            self,
            request,
            "admin/handover_settings.html",
            400 if error else 200,
            shown=shown,
            said=said,
            error=error,
            defaults={"hours": settings.OFFICE_HOURS, "minutes": settings.HANDOVER_WAIT_MINUTES},
        )


class LeftMessageView(StaffPage, title="留言 Messages", icon="fa-solid fa-envelope"):
    """Messages residents left; the callback number in full only on one message's page."""

    def is_accessible(self, request: Request) -> bool:
        """Editors and admins."""
        return can_edit(request)

    def is_visible(self, request: Request) -> bool:
        """In the menu for editors and admins only."""
        return can_edit(request)

    @expose("/handover-messages", methods=["GET"], identity="handover-messages")
    async def listing(self, request: Request) -> Response:
        """To answer (oldest first), or done (?done=1)."""
        done_ones = request.query_params.get("done") == "1"
        rows = await read(self, desk.messages_left, done_ones)
        return await page(
            self,
            request,
            "admin/handover_messages.html",
            rows=rows,
            done_ones=done_ones,
            masked_phone=desk.masked_phone,
        )

    @expose("/handover-messages/{pk}", methods=["GET", "POST"], identity="handover-message")
    async def item(self, request: Request) -> Response:
        """One message with its callback number; POST: done."""
        raw = request.path_params["pk"]
        if not raw.isdigit():
            raise HTTPException(404)
        error = ""
        if request.method == "POST":
            try:
                await write(self, desk.mark_done, int(raw), current_user(request))
            except desk.HandoverError as err:
                error = str(err)
            else:
                return done(request, request.url_for("admin:view-handover-messages"), "已处理 Done")
        row = await read(self, lambda s: s.get(ResidentMessage, int(raw)))
        if row is None:
            return await page(self, request, "admin/message.html", 404, message="没有这条留言 / No such message")
        return await page(self, request, "admin/handover_message.html", 409 if error else 200, row=row, error=error)
