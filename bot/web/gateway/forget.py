"""Residents' control of what is kept (PIPL Art. 19 and 47): POST /api/forget deletes one conversation, GET
/api/privacy says how long conversations are kept, and the web app purges what is older than the retention.

POST /api/forget {session, lang}: the conversation's tracker events, its feedback and its unanswered questions
(kb.retention.forget); checked like /api/chat: origin, per-address and per-session rate limits, a 4xx for bad
input, 503 when a database does not answer (then nothing of the KB is deleted, and the widget keeps the
conversation so the resident can try again).

`purge_periodically` runs kb.retention.purge in the web app's lifespan: FIRST_PURGE_AFTER seconds after start
(plus up to a minute at random, so gateways started together take turns), then every
settings.PURGE_EVERY_HOURS. Every gateway may run it: the purge is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import random

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from bot import settings
from bot.language import reply_language
from bot.web.gateway.guards import address_guard, check_origin, error_response, session_guard
from bot.web.gateway.i18n import message
from bot.web.gateway.validation import InputError, check_session, read_body
from kb import retention

logger = logging.getLogger(__name__)
router = APIRouter()
FIRST_PURGE_AFTER = 30.0  # seconds after start: the app is serving before the first purge
BROWSER_DAYS = 30  # the widget forgets its copy of a conversation after this many days (widget.js HISTORY_DAYS)


@router.post("/api/forget")
async def post_forget(request: Request) -> JSONResponse:
    """Delete one conversation on the server: {session, lang} -> {session, deleted: {events, feedback, questions}}."""
    header = request.headers.get("accept-language")
    lang = reply_language(header=header)
    try:
        check_origin(request)
        data, refused = await read_body(request)
        lang = reply_language(chosen=data.get("lang"), header=header)
        await address_guard(request, "forget")
        if refused:
            raise refused
        session = check_session(data.get("session"))
        await session_guard(request, session)
    except InputError as err:
        return error_response(err, lang)
    try:
        result = await run_in_threadpool(retention.forget, session)
    except SQLAlchemyError as err:
        logger.error("conversation not deleted, a database did not answer: %s", type(err).__name__)
        return error_response(InputError(503, "unavailable"), lang)
    logger.info("a resident deleted a conversation: %s", result.counts())
    body = {"session": session, "deleted": result.counts(), "message": message("forgotten", lang), "lang": lang}
    return JSONResponse(body)


@router.get("/api/privacy")
async def get_privacy() -> dict[str, int]:
    """What the widget's privacy notice says: days the server keeps conversations, days the browser keeps them."""
    return {"retention_days": settings.RETENTION_DAYS, "browser_days": min(BROWSER_DAYS, settings.RETENTION_DAYS)}


async def purge_periodically(every_hours: float, first_after: float | None = None) -> None:
    """Purge what is older than the retention now and then, until cancelled; a failure waits for the next turn."""
    delay = FIRST_PURGE_AFTER if first_after is None else first_after
    await asyncio.sleep(delay + (random.uniform(0, 60) if delay else 0))
    while True:
        try:
            report = await run_in_threadpool(retention.purge)
            logger.info("retention purge: %s", report)
        except Exception:  # a database down, a bad setting: logged, the app keeps serving, next turn tries again
            logger.exception("retention purge failed; next try in %s hours", every_hours)
        await asyncio.sleep(every_hours * 3600)


def start_purging() -> asyncio.Task[None] | None:
    """The purge as a background task of the running app (None when ZHITANG_PURGE_EVERY_HOURS is 0)."""
    if settings.PURGE_EVERY_HOURS <= 0:
        return None
    return asyncio.create_task(purge_periodically(settings.PURGE_EVERY_HOURS), name="retention-purge")
