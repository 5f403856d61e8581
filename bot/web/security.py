"""Security headers (CSP without inline scripts, nosniff, framing, referrer, permissions, no-store, HSTS), the
allowed Host names, and CORS."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import settings

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


# Never kept by a browser's or a proxy's cache: the API's answers, every admin page and the KB export...
NO_STORE_PREFIXES = ("/api/", "/admin/")
# ... but the admin's stylesheets, scripts and icons (SQLAdmin's and ours), which hold nothing private.
CACHEABLE_PREFIXES = ("/admin/statics/", "/admin/zt/")


def no_store(path: str) -> bool:
    """Whether a response to this path must carry `Cache-Control: no-store`."""
    return (path == "/admin" or path.startswith(NO_STORE_PREFIXES)) and not path.startswith(CACHEABLE_PREFIXES)


def hsts(scope: Scope) -> str | None:
    """The Strict-Transport-Security value for a response served over HTTPS (None over http or when switched off).

    Behind the ingress the scheme is the one uvicorn read from X-Forwarded-Proto (`--proxy-headers`, trusted
    proxies only). Browsers ignore the header over plain http, so it is not sent there at all.
    """
    if scope.get("scheme") not in ("https", "wss") or settings.HSTS_MAX_AGE <= 0:
        return None
    return f"max-age={settings.HSTS_MAX_AGE}; includeSubDomains"


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response, no-store to the API's and the admin's, HSTS over HTTPS."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] | None = None):
        self.app = app
        self.headers = headers or SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private, transport = no_store(scope["path"]), hsts(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if private:
                    headers["Cache-Control"] = "no-store"
                if transport:
                    headers.setdefault("Strict-Transport-Security", transport)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# A Host header: a DNS name or an IPv4 address, or an IPv6 address in brackets; an optional port.
_HOST = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_.-]+))(?::[0-9]{1,5})?", re.IGNORECASE)
HOST_EXEMPT = ("/healthz",)  # Kubernetes' probes ask by the pod's address; the answer reveals nothing


def host_name(value: str | None) -> str | None:
    """The host name of a Host header, lower-case, without port, brackets or a final dot (None if malformed)."""
    found = _HOST.fullmatch((value or "").strip())
    if not found:
        return None
    return (found.group("v6") or found.group("name")).lower().rstrip(".") or None


class AllowedHostsMiddleware(TrustedHostMiddleware):
    """Starlette's TrustedHostMiddleware (same patterns: "name", "*.domain", "*" for any), with a clear 400.

    A page on another name that was made to resolve to the gateway (DNS rebinding) calls it "same-origin":
    its Origin matches its Host, so only the Host name itself tells it apart. Unlike Starlette's it compares
    names case-insensitively, never redirects to www, and lets /healthz through for probes.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] | None = None, exempt: Sequence[str] = HOST_EXEMPT):
        hosts = [host.strip().lower().strip("[]").rstrip(".") for host in allowed_hosts or ["*"]]
        super().__init__(app, allowed_hosts=hosts, www_redirect=False)
        self.exempt = tuple(exempt)
        self._logged: set[str] = set()

    def allowed(self, host: str | None) -> bool:
        """Whether a host name (see host_name) is one the gateway answers to."""
        return host is not None and any(
            host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))
            for pattern in self.allowed_hosts
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allow_any or scope["type"] not in ("http", "websocket") or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        raw = Headers(scope=scope).get("host")
        if self.allowed(host_name(raw)):
            await self.app(scope, receive, send)
            return
        if len(self._logged) < 64 and raw not in self._logged:  # once per name: a flood does not flood the log
            self._logged.add(str(raw))
            logger.warning("refused Host %.100r (not in ZHITANG_ALLOWED_HOSTS %s)", raw, ",".join(self.allowed_hosts))
        message = (
            "400 不接受的主机名(Host)：本服务只回答它自己的地址。\n"
            "400 Unknown host name (Host header): this server answers only at its own address.\n"
        )
        await PlainTextResponse(message, status_code=400)(scope, receive, send)


def origin_allowed(origin: str | None, own_origin: str, allowed: Iterable[str] | None = None) -> bool:
    """A request with no Origin (not a browser's cross-site call), its own origin, or a configured one."""
    if not origin:
        return True
    allowed = settings.ALLOWED_ORIGINS if allowed is None else allowed
    return origin == own_origin or origin in allowed or "*" in allowed


def install(app: FastAPI) -> None:
    """Add CORS (settings.ALLOWED_ORIGINS), the Host check (settings.ALLOWED_HOSTS) and the security headers.

    The last added runs first: the headers go on every response, the Host check's refusals included.
    """
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.ALLOWED_ORIGINS,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "Accept-Language", "Last-Event-ID"],
        max_age=600,
    )
    app.add_middleware(AllowedHostsMiddleware, allowed_hosts=settings.ALLOWED_HOSTS)
    app.add_middleware(SecurityHeadersMiddleware)
