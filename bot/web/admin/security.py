"""Who may use the admin: argon2 sign-in, expiring signed sessions, roles, and a CSRF token on every POST."""

from __future__ import annotations

import hmac
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from sqladmin.authentication import AuthenticationBackend
from sqladmin.authorization import Action, AuthorizationBackend
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import settings
from bot.web.gateway.ratelimit import RateLimiter
from kb.users import active_user, authenticate

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_BODY = 10 * 1024 * 1024
READ_ACTIONS = {Action.LIST, Action.DETAILS}
EDITORS = {"editor", "admin"}


def secret_key() -> str:
    """The session-signing key: ZHITANG_ADMIN_SECRET, else a random key kept in the var directory."""
    if settings.ADMIN_SECRET_KEY:
        return settings.ADMIN_SECRET_KEY
    path = Path(settings.VAR_DIR) / "admin-secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def now() -> float:
    """The clock sessions expire by (a function, so tests can move it)."""
    return time.time()


def csrf_token(request: Request) -> str:
    """This session's CSRF token, for a hidden field of every form."""
    return request.session.get("csrf", "") if "session" in request.scope else ""


def current_user(request: Request) -> str:
    """The signed-in staff member's username ("" when signed out)."""
    return request.session.get("user", "") if "session" in request.scope else ""


def current_role(request: Request) -> str:
    """The signed-in staff member's role, as the database says at this request."""
    return getattr(request.state, "staff_role", "")


def can_edit(request: Request) -> bool:
    """True for editors and admins."""
    return current_role(request) in EDITORS


class CSRFMiddleware:
    """Refuse any POST/PUT/PATCH/DELETE whose form field or X-CSRF-Token header is not the session's token.

    Runs inside the session middleware; the token is made on the first request of a session and renewed at
    sign-in. The request body is read once here and replayed to the app.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = scope["session"]
        if not session.get("csrf"):
            session["csrf"] = secrets.token_urlsafe(32)
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        body, too_big = b"", False
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                too_big = True
                break
            if not message.get("more_body", False):
                break
        if too_big:
            await _refuse(scope, receive, send, 413, "文件太大 / The upload is too large")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        token = await _token_of(scope, body, replay)
        replayed = False
        if not token or not hmac.compare_digest(token, session["csrf"]):
            await _refuse(
                scope,
                receive,
                send,
                403,
                "页面已过期或来源不明,请返回、刷新页面后重试。 / The page expired or came from elsewhere: go back, "
                "reload the page and try again.",
            )
            return
        await self.app(scope, replay, send)


async def _token_of(scope: Scope, body: bytes, replay) -> str:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    if headers.get(CSRF_HEADER):
        return headers[CSRF_HEADER]
    kind = headers.get("content-type", "")
    if kind.startswith("application/x-www-form-urlencoded"):
        return (parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD) or [""])[0]
    if kind.startswith("multipart/form-data"):
        request = Request(scope, replay)
        async with request.form() as form:
            value = form.get(CSRF_FIELD)
            return value if isinstance(value, str) else ""
    return ""


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    html = f"<!doctype html><meta charset=utf-8><title>{status}</title><p style='font:16px sans-serif'>{message}</p>"
    await HTMLResponse(html, status_code=status)(scope, receive, send)


class StaffAuth(AuthenticationBackend):
    """Sign-in against the staff accounts (argon2), a signed session cookie that expires, a CSRF token."""

    def __init__(self, session_maker: sessionmaker[Session], base_url: str = "/admin"):
        super().__init__(
            secret_key(),
            session_cookie="zhitang_admin",
            max_age=settings.ADMIN_SESSION_MAX_AGE,
            path=base_url or "/",
            same_site="lax",
            https_only=settings.ADMIN_COOKIE_SECURE,
        )
        self.middlewares.append(Middleware(CSRFMiddleware))
        self.session_maker = session_maker
        self.login_limiter = RateLimiter({"login": settings.ADMIN_LOGIN_LIMIT})

    def _check_password(self, username: str, password: str) -> tuple[str, str] | None:
        with self.session_maker() as session, session.begin():
            user = authenticate(session, username, password)
            return (user.username, user.role) if user else None

    async def login(self, request: Request) -> bool:
        """Check the form's username and password; on success start a fresh session.

        Sign-in attempts are limited per client address, so passwords cannot be guessed at speed.
        """
        address = request.client.host if request.client else "-"
        if not (await self.login_limiter.hit("login", address, scope="admin-login")).allowed:
            return False
        form = await request.form()
        found = await run_in_threadpool(
            self._check_password, str(form.get("username") or "").strip(), str(form.get("password") or "")
        )
        if found is None:
            return False
        request.session.clear()  # a new session at sign-in: no fixation
        request.session.update(
            user=found[0],
            csrf=secrets.token_urlsafe(32),
            expires=now() + settings.ADMIN_SESSION_MAX_AGE,
        )
        return True

    async def logout(self, request: Request) -> bool:
        """End the session."""
        request.session.clear()
        return False

    def _role_of(self, username: str) -> str | None:
        with self.session_maker() as session:
            user = active_user(session, username)
            return user.role if user else None

    async def authenticate(self, request: Request) -> bool:
        """True for a session that is signed in, not expired, and whose account is still active."""
        username = current_user(request)
        if not username:
            return False
        if float(request.session.get("expires") or 0) < now():
            request.session.clear()
            return False
        role = await run_in_threadpool(self._role_of, username)
        if role is None:
            request.session.clear()
            return False
        request.state.staff_role = role
        return True

    async def get_user_id(self, request: Request) -> Any:
        """The signed-in username."""
        return current_user(request) or None


class RoleAuthorization(AuthorizationBackend):
    """Viewers read; editors also create and edit entries and facts; admins also manage staff accounts.

    Nothing is ever deleted through the admin: entries are retired instead.
    """

    def has_permission(self, request: Request, identity: str, action: str, obj: Any | None = None) -> bool:
        """Whether the signed-in role may do `action` on the view `identity`."""
        role = current_role(request)
        if not role or action == Action.DELETE:
            return False
        if identity == "staff-user":
            return role == "admin"
        if action in READ_ACTIONS:
            return True
        return role in EDITORS
