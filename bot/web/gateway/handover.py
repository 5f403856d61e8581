"""The residents' side of the live handover to town staff (转人工), routed here in the gateway (kb/handover.py).

Why the gateway and not Rasa's pause: the gateway already stands between the widget and Rasa, and it keeps
nothing in memory: whether a conversation is with staff is one indexed query on the KB database, which every
gateway and replica shares. While a conversation is waiting or with staff, /api/chat stores the resident's
message for staff instead of forwarding it to Rasa (the bot stays silent); once staff close it (or the resident
cancels, or nobody took it in time), messages go to Rasa again. Rasa's own pause would need its HTTP API (off
here) and a second, per-replica notion of the same state.

- /api/chat calls `divert` before Rasa, and `after_reply` on Rasa's messages: the action's `{"handover":
  {"state": "queue"}}` puts the conversation in the queue; the reply then carries the place and expected wait.
- GET /api/handover/events?session=…&after=<event id>: server-sent events (sse-starlette) of what staff say and
  every change of state, read from the database every ZHITANG_HANDOVER_POLL_SECONDS, so whichever gateway the
  resident reaches (or reaches again after a restart) streams them; the browser's reconnect resumes from
  Last-Event-ID (or `after`). A stream lasts STREAM_SECONDS at most, and ends once the handover has ended.
  Behind a proxy, buffering must be off for this path (deploy/README.md; the response says X-Accel-Buffering: no).
- POST /api/handover/cancel {session, lang}; POST /api/handover/message {session, lang, text, phone?, consent}.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from bot import settings
from bot.language import reply_language
from bot.web.gateway.guards import address_guard, check_origin, error_response, session_guard
from bot.web.gateway.i18n import message
from bot.web.gateway.validation import InputError, check_session, read_body
from kb import handover as desk
from kb.db import get_engine, session_factory
from kb.models import Handover, HandoverEvent

logger = logging.getLogger(__name__)
router = APIRouter()
STREAM_SECONDS = 300.0  # then the browser reconnects (with its cursor): no connection is held for ever
PING_SECONDS = 15  # keeps proxies from closing a quiet stream
MAX_CURSOR = 10**15


def status_of(session: Any, handover: Handover | None, hours: desk.Hours | None = None) -> dict[str, Any]:
    """What the widget shows: {id, state, position, wait_minutes, wait_measured} (no staff names)."""
    if handover is None:
        return {"id": None, "state": "none"}
    out: dict[str, Any] = {"id": handover.id, "state": handover.state}
    if handover.state == "waiting":
        hours = hours or desk.current_hours(session)
        place = desk.position(session, handover)
        minutes, measured = desk.expected_wait(session, place, hours)
        out.update(position=place, wait_minutes=minutes, wait_measured=measured)
    return out


def divert(session_id: str, text: str) -> dict[str, Any] | None:
    """The resident's message goes to staff when the conversation is waiting or with staff: its status; None:
    forward it to Rasa."""
    with get_engine().connect() as connection:  # the usual case: one query, nothing to expire or divert
        if not desk.desk_concerned(connection, session_id):
            return None
    with session_factory()() as session, session.begin():
        hours = desk.current_hours(session)
        desk.expire_overdue(session, hours)
        handover = desk.open_handover_of(session, session_id)
        if handover is None:
            return None
        desk.resident_says(session, handover, text)
        return status_of(session, handover, hours)


def signals_desk(messages: list[dict[str, Any]]) -> bool:
    """Whether the bot's messages carry the action's handover signal (rare): only then is after_reply needed."""
    return any(isinstance(m.get("handover"), dict) for m in messages)


def after_reply(session_id: str, lang: str, messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The action asked for the queue: the conversation's place in it; or to leave a message: that state."""
    signals = [m["handover"]["state"] for m in messages if isinstance(m.get("handover"), dict)]
    if "queue" in signals:
        with session_factory()() as session, session.begin():
            return status_of(session, desk.request_handover(session, session_id, lang))
    if "message" in signals:
        return {"id": None, "state": "message"}
    return None


def _event(event: HandoverEvent) -> dict[str, Any]:
    """One event as the widget receives it: never the staff member's name."""
    return {"id": event.id, "kind": event.kind, "text": event.text, "at": event.created_at.isoformat()}


def poll(session_id: str, cursor: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """New events of the conversation after the cursor, and its handover's status now."""
    with session_factory()() as session, session.begin():
        hours = desk.current_hours(session)
        desk.expire_overdue(session, hours)
        events = [_event(e) for e in desk.events_after(session, session_id, cursor)]
        return events, status_of(session, desk.latest_handover_of(session, session_id), hours)


def _cursor(request: Request) -> int:
    """Where the stream resumes: the browser's Last-Event-ID, else ?after=, whichever is later."""
    values = [request.headers.get("last-event-id", ""), request.query_params.get("after", "")]
    numbers = [int(v) for v in values if v.isdigit() and int(v) < MAX_CURSOR]
    if any(v and not v.isdigit() for v in values):
        raise InputError(400, "bad_json")
    return max(numbers, default=0)


@router.get("/api/handover/events")
async def events(request: Request) -> Response:
    """Server-sent events of one conversation's handover: `handover` (a message or a change of state, with its
    id) and `status` (state, place in the queue, expected wait) whenever it changes."""
    lang = reply_language(header=request.headers.get("accept-language"))
    try:
        check_origin(request)
        await address_guard(request, "handover-events")
        session_id = check_session(request.query_params.get("session"))
        cursor = _cursor(request)
    except InputError as err:
        return error_response(err, lang)

    async def stream() -> Any:
        after, shown, ends = cursor, None, time.monotonic() + STREAM_SECONDS
        while time.monotonic() < ends and not await request.is_disconnected():
            try:
                new, status = await run_in_threadpool(poll, session_id, after)
            except SQLAlchemyError as err:  # the database is away: the browser reconnects and resumes
                logger.warning("handover events not read: %s", type(err).__name__)
                return
            for event in new:
                after = event["id"]
                yield {"id": str(after), "event": "handover", "data": json.dumps(event, ensure_ascii=False)}
            if status != shown:
                shown = status
                yield {"event": "status", "data": json.dumps(status, ensure_ascii=False)}
            if status["state"] not in ("waiting", "active") and not new:
                return  # ended (or never began): nothing more will come
            await asyncio.sleep(settings.HANDOVER_POLL_SECONDS)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return EventSourceResponse(stream(), ping=PING_SECONDS, headers=headers)


async def _checked(request: Request, scope: str) -> tuple[dict[str, Any], str, str]:
    """A widget's POST: (its JSON, session id, language), after the origin and the rate limits."""
    header = request.headers.get("accept-language")
    data, refused = await read_body(request)
    lang = reply_language(chosen=data.get("lang"), header=header)
    await address_guard(request, scope)
    check_origin(request)
    if refused:
        raise refused
    session_id = check_session(data.get("session"))
    await session_guard(request, session_id)
    return data, session_id, lang


def _cancel(session_id: str) -> dict[str, Any]:
    with session_factory()() as session, session.begin():
        ended = desk.cancel(session, session_id)
        return status_of(session, ended or desk.latest_handover_of(session, session_id))


@router.post("/api/handover/cancel")
async def post_cancel(request: Request) -> JSONResponse:
    """The resident leaves the queue, or ends the conversation with staff: {session, lang} -> {state, message}."""
    lang = reply_language(header=request.headers.get("accept-language"))
    try:
        _, session_id, lang = await _checked(request, "handover")
        status = await run_in_threadpool(_cancel, session_id)
    except InputError as err:
        return error_response(err, lang)
    except SQLAlchemyError:
        return error_response(InputError(503, "unavailable"), lang)
    return JSONResponse({**status, "message": message("handover_cancelled", lang), "lang": lang})


def _leave(session_id: str, lang: str, data: dict[str, Any]) -> int:
    with session_factory()() as session, session.begin():
        row = desk.leave_message(session, session_id, lang, data.get("text"), data.get("phone"), data.get("consent"))
        return row.id


@router.post("/api/handover/message")
async def post_message(request: Request) -> JSONResponse:
    """A message for staff (留言): {session, lang, text, phone?, consent}; a phone number only with consent true."""
    lang = reply_language(header=request.headers.get("accept-language"))
    try:
        data, session_id, lang = await _checked(request, "handover")
        if set(data) - {"session", "lang", "text", "phone", "consent"}:
            raise InputError(400, "bad_json")
        row_id = await run_in_threadpool(_leave, session_id, lang, data)
    except InputError as err:
        return error_response(err, lang)
    except desk.HandoverError as err:
        return error_response(InputError(err.status, err.key or "bad_json", **err.values), lang)
    except SQLAlchemyError:
        return error_response(InputError(503, "unavailable"), lang)
    return JSONResponse({"id": row_id, "message": message("handover_left", lang), "lang": lang}, 201)
