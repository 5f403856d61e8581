"""The residents' gateway: town page with the widget, POST /api/chat in front of Rasa, feedback, static assets."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from bot.language import reply_language
from bot.privacy import mask
from bot.web.gateway import feedback, forget, handover
from bot.web.gateway.guards import address_guard, check_origin, error_response, session_guard
from bot.web.gateway.i18n import message
from bot.web.gateway.rasa_client import RasaClient, RasaUnavailable
from bot.web.gateway.ratelimit import RateLimiter
from bot.web.gateway.town_page import town_page
from bot.web.gateway.validation import InputError, check_session, check_text, read_body

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")


def asset_version() -> str:
    """A short hash of the widget's files, to bust browser caches when they change."""
    digest = hashlib.sha256()
    for name in ("widget.js", "widget.css", "town.css", "town.js"):
        digest.update((STATIC_DIR / name).read_bytes())
    return digest.hexdigest()[:10]


async def chat(request: Request) -> JSONResponse:
    """One resident message -> the bot's messages: {session, question (masked), lang, messages: [...]}."""
    header = request.headers.get("accept-language")
    lang = reply_language(header=header)
    question = None
    try:
        data, refused = await read_body(request)
        lang = reply_language(data.get("text"), data.get("lang"), header=header)
        await address_guard(request, "chat")  # first: refused requests count too
        check_origin(request)
        if refused:
            raise refused
        text = check_text(data.get("text"))
        session = check_session(data.get("session"))
        await session_guard(request, session)
        question = mask(text)
        diverted = await _to_staff(session, question)
        if diverted is not None:  # with town staff (or waiting for them): the bot does not answer
            return JSONResponse(
                {"session": session, "question": question, "lang": lang, "messages": [], "handover": diverted}
            )
        messages = await request.app.state.rasa.send(session, question, data.get("lang"), handover=True)
    except InputError as err:
        return error_response(err, lang)
    except RasaUnavailable:
        return error_response(InputError(503, "unavailable"), lang, question=question)
    body = {"session": session, "question": question, "lang": lang, "messages": messages}
    if handover.signals_desk(messages):  # no thread hand-off for the usual reply
        try:
            status = await run_in_threadpool(handover.after_reply, session, lang, messages)
        except SQLAlchemyError as err:  # the queue is away: the reply still says to leave a message or call
            logger.error("handover not queued: %s", type(err).__name__)
            status = {"id": None, "state": "message"}
        if status is not None:
            body["handover"] = status
    return JSONResponse(body)


async def _to_staff(session: str, question: str) -> dict | None:
    """handover.divert off the event loop; when the KB database is away, the bot answers (None)."""
    try:
        return await run_in_threadpool(handover.divert, session, question)
    except SQLAlchemyError as err:
        logger.warning("handover state not read, the bot answers: %s", type(err).__name__)
        return None


async def index(request: Request) -> HTMLResponse:
    """The town page with the widget on it."""
    shown = await run_in_threadpool(town_page)
    return templates.TemplateResponse(request, "index.html", {"version": request.app.state.asset_version, **shown})


async def health() -> dict[str, str]:
    """Liveness of the gateway itself (Rasa's state shows in /api/chat answers)."""
    return {"status": "ok"}


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Any unforeseen error: the polite 'temporarily unavailable' as JSON, never a 500 page."""
    logger.exception("unexpected error on %s", request.url.path, exc_info=exc)
    lang = reply_language(header=request.headers.get("accept-language"))
    return JSONResponse({"error": "unavailable", "message": message("unavailable", lang), "lang": lang}, 503)


def install(app: FastAPI, rasa: RasaClient | None = None, limiter: RateLimiter | None = None) -> None:
    """Add the residents' routes to the web app: town page, /api/chat, /api/feedback, /api/forget, /healthz,
    /static."""
    app.state.rasa = rasa or RasaClient()
    app.state.limiter = limiter or RateLimiter()
    app.state.asset_version = asset_version()
    app.add_api_route("/", index, methods=["GET"], response_class=HTMLResponse, include_in_schema=False)
    app.add_api_route("/healthz", health, methods=["GET"])
    app.add_api_route("/api/chat", chat, methods=["POST"])
    app.include_router(feedback.router)
    app.include_router(forget.router)  # /api/forget, /api/privacy
    app.include_router(handover.router)  # /api/handover/events, /cancel, /message
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(Exception, unexpected_error)
