"""POST /api/feedback: a resident's 👍/👎 on an answer (the KB's feedback table), or their 5-level rating of a whole
conversation (the satisfaction table, followed up by staff when 不满意), stored for staff."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from bot.language import reply_language
from bot.privacy import mask_optional
from bot.web.gateway.guards import address_guard, check_origin, error_response
from bot.web.gateway.i18n import message
from bot.web.gateway.validation import InputError, check_feedback, check_satisfaction, read_body
from kb.db import session_factory
from kb.models import Feedback
from kb.satisfaction import store_rating

logger = logging.getLogger(__name__)
router = APIRouter()


def store_feedback(fields: dict[str, Any]) -> int:
    """Insert one checked feedback row (question and answer masked); its id."""
    masked = {"question": mask_optional(fields.get("question")), "answer": mask_optional(fields.get("answer"))}
    with session_factory()() as session, session.begin():
        row = Feedback(**{**fields, **masked})
        session.add(row)
        session.flush()
        return row.id


def store_satisfaction(fields: dict[str, Any]) -> int:
    """Insert one checked 5-level rating of a conversation; its id."""
    with session_factory()() as session, session.begin():
        return store_rating(session, **fields).id


@router.post("/api/feedback")
async def post_feedback(request: Request) -> JSONResponse:
    """Store 👍/👎 on one answer: {session, rating: up|down, question, answer, entry, lang}; or the 5-level rating
    of a conversation: {session, satisfaction: very_satisfied|satisfied|basic|dissatisfied|very_dissatisfied,
    occasion: end|handoff, lang} (kb.satisfaction)."""
    lang = reply_language(header=request.headers.get("accept-language"))
    try:
        data, refused = await read_body(request)
        lang = reply_language(chosen=data.get("lang"), header=request.headers.get("accept-language"))
        await address_guard(request, "feedback")  # first: refused requests count too
        check_origin(request)
        if refused:
            raise refused
        rating = "satisfaction" in data
        fields = check_satisfaction(data) if rating else check_feedback(data)
    except InputError as err:
        return error_response(err, lang)
    try:
        feedback_id = await run_in_threadpool(store_satisfaction if rating else store_feedback, fields)
    except SQLAlchemyError as err:
        logger.error("feedback not stored: %s", err)
        return error_response(InputError(503, "unavailable"), lang)
    return JSONResponse({"id": feedback_id, "message": message("feedback_saved", lang), "lang": lang}, 201)
