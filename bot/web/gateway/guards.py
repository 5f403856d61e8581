"""Checks on every API request: origin, per-address and per-session rate limits; the error response."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from bot.web.gateway.i18n import message
from bot.web.gateway.validation import InputError
from bot.web.security import origin_allowed


def client_address(request: Request) -> str:
    """The client's address (behind a proxy, run uvicorn with --proxy-headers so this is the resident's)."""
    return request.client.host if request.client else "unknown"


def own_origin(request: Request) -> str:
    """scheme://host[:port] of the gateway as the browser reached it."""
    return f"{request.url.scheme}://{request.url.netloc}"


def check_origin(request: Request) -> None:
    """Refuse browsers on other sites (403): only the gateway's own origin and settings.ALLOWED_ORIGINS."""
    if not origin_allowed(request.headers.get("origin"), own_origin(request)):
        raise InputError(403, "bad_origin")


async def address_guard(request: Request, scope: str) -> None:
    """Refuse an address over its rate limit (429); every request counts, well-formed or not."""
    verdict = await request.app.state.limiter.hit("address", client_address(request), scope)
    if not verdict.allowed:
        raise InputError(429, "rate_limited", seconds=verdict.retry_after)


async def session_guard(request: Request, session: str) -> None:
    """Refuse a conversation over its rate limit (429)."""
    verdict = await request.app.state.limiter.hit("session", session)
    if not verdict.allowed:
        raise InputError(429, "rate_limited", seconds=verdict.retry_after)


def error_response(err: InputError, lang: str, **extra: object) -> JSONResponse:
    """The JSON the widget shows for a refused request: {error, message, lang}."""
    headers = {"Retry-After": str(err.values["seconds"])} if "seconds" in err.values else None
    body = {"error": err.key, "message": message(err.key, lang, **err.values), "lang": lang, **extra}
    return JSONResponse(body, status_code=err.status, headers=headers)
