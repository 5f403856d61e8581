"""Checks on every API request: origin, per-address and per-session rate limits; the error response."""

from __future__ import annotations

import logging
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from fastapi import Request
from fastapi.responses import JSONResponse

from bot import settings
from bot.web.gateway.i18n import message
from bot.web.gateway.validation import InputError
from bot.web.security import origin_allowed

logger = logging.getLogger(__name__)


def client_address(request: Request) -> str:
    """The client's address, what per-address limits count (the resident's, the admin's staff member's).

    X-Forwarded-For is believed only when the connection comes from one of settings.TRUSTED_PROXIES (nobody
    by default): then the address is the last one in it that is not a trusted proxy, the one the nearest
    proxy saw (what a client writes in the header itself comes before it). uvicorn, run by `python -m bot.web`,
    applies the same rule with the same list, so this also holds where the app is served otherwise.
    """
    peer = request.client.host if request.client else "unknown"
    trusted = _networks(tuple(settings.TRUSTED_PROXIES))
    if not trusted or not _is_in(peer, trusted):
        return peer
    hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    hops = [_host_of(hop) for hop in hops if hop]
    for hop in reversed(hops):
        if not _is_in(hop, trusted):
            return hop
    return hops[0] if hops else peer


@lru_cache(maxsize=8)
def _networks(items: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    networks = []
    for item in items:
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            logger.warning("ZHITANG_TRUSTED_PROXIES: %r is not an address or network; ignored", item)
    return tuple(networks)


def _is_in(host: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _host_of(hop: str) -> str:
    """An X-Forwarded-For entry without its port ("1.2.3.4:80", "[::1]:80")."""
    if hop.startswith("[") and "]" in hop:
        return hop[1 : hop.index("]")]
    return hop.rsplit(":", 1)[0] if hop.count(":") == 1 else hop


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
