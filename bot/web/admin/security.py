"""Who may use the admin: argon2 sign-in, expiring signed sessions, roles, and a CSRF token on every POST."""

from __future__ import annotations

import hmac
import math
import secrets
import time
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
from sqladmin.authentication import AuthenticationBackend
from sqladmin.authorization import Action, AuthorizationBackend
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import settings
from bot.ops.secrets import secret_file
from bot.web.gateway.guards import client_address
from bot.web.gateway.ratelimit import RateLimiter
from kb.exchange import MAX_IMPORT_BYTES
from kb.users import end_sessions, session_user, sign_in

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# The largest POST body read: any admin form, and any POST of someone not signed in...
FORM_BODY_LIMIT = 256 * 1024
# ... but a signed-in staff member's YAML import: the file (kb.exchange's limit) and the rest of the form.
IMPORT_BODY_LIMIT = MAX_IMPORT_BYTES + 64 * 1024
IMPORT_PATH = "/exchange/import-yaml"
READ_ACTIONS = {Action.LIST, Action.DETAILS}
EDITORS = {"editor", "admin"}


def secret_key() -> str:
    """The session-signing key: ZHITANG_ADMIN_SECRET, else a random key kept in the var directory."""
    if settings.ADMIN_SECRET_KEY:
        return settings.ADMIN_SECRET_KEY
    return secret_file(Path(settings.VAR_DIR) / "admin-secret.key")  # mode 0600 from the start, made once


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
    sign-in. The request body is read once here, within limits of size and time (_read_body), and replayed to
    the app.
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
        try:
            body = await _read_body(scope, receive)
            if body is None:
                return  # the client went away
            token = await _token_of(scope, body, _replay(body, receive))
        except _Refused as refused:
            await _refuse(scope, receive, send, refused.status, refused.message)
            return
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
        await self.app(scope, _replay(body, receive), send)


class _Refused(Exception):
    """A request body the middleware will not read or pass on: its status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _body_limit(scope: Scope) -> int:
    """How many bytes of body this request may send: the import's size for a signed-in editor's import, else small."""
    if scope["session"].get("user") and scope["path"].endswith(IMPORT_PATH):
        return IMPORT_BODY_LIMIT
    return FORM_BODY_LIMIT


async def _read_body(scope: Scope, receive: Receive) -> bytes | None:
    """The whole body (None if the client went away), or _Refused: too large (413), too slow (408).

    A declared Content-Length over the limit is refused before a byte is read; without one, reading stops at the
    limit. The whole body must arrive within settings.BODY_TIMEOUT seconds (a stalled or dripping upload holds
    nothing for long). Chunks are gathered in a bytearray: linear time, where `bytes +=` copied all so far.
    """
    limit = _body_limit(scope)
    too_large = _Refused(
        413, f"内容太大(最多 {limit // 1024:,} KB)/ The form or file is too large (at most {limit // 1024:,} KB)"
    )
    declared = Headers(scope=scope).get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise _Refused(400, "请求格式有误 / The request is malformed (Content-Length)")
        if int(declared) > limit:
            raise too_large
    body = bytearray()
    with anyio.move_on_after(settings.BODY_TIMEOUT):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > limit:
                raise too_large
            if not message.get("more_body", False):
                return bytes(body)
    raise _Refused(408, "发送太慢,请求已超时,请重试 / The request took too long to arrive: please try again")


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that gives the body read here once, then passes on what the client sends (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _token_of(scope: Scope, body: bytes, replay: Receive) -> str:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    if headers.get(CSRF_HEADER):
        return headers[CSRF_HEADER]
    kind = headers.get("content-type", "")
    if kind.startswith("application/x-www-form-urlencoded"):
        return (parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD) or [""])[0]
    if kind.startswith("multipart/form-data"):
        request = Request(scope, replay)
        try:
            async with request.form(max_part_size=len(body) + 1) as form:
                value = form.get(CSRF_FIELD)
                return value if isinstance(value, str) else ""
        except (HTTPException, MultiPartException) as err:
            raise _Refused(400, "表单格式有误 / The form could not be read") from err
    return ""


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    html = f"<!doctype html><meta charset=utf-8><title>{status}</title><p style='font:16px sans-serif'>{message}</p>"
    await HTMLResponse(html, status_code=status)(scope, receive, send)


class StaffAuth(AuthenticationBackend):
    """Sign-in against the staff accounts (argon2), a signed session cookie that expires, a CSRF token.

    The cookie names the account's id and its session version; every request checks both against the
    database, so sign-out, a new password, a new role or switching the account off ends the session
    everywhere, whatever copies of the cookie exist. Sign-in is refused with 429 and Retry-After when the
    client's address is over its limit or the account is locked (kb.users.sign_in).
    """

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
        self.login_limiter = RateLimiter({"login": settings.ADMIN_LOGIN_LIMIT}, exact=True)

    def _check_password(self, username: str, password: str) -> tuple[dict[str, Any] | None, int]:
        with self.session_maker() as session, session.begin():
            result = sign_in(session, username, password, datetime.fromtimestamp(now(), timezone.utc))
            user = result.user
            if user is None:
                return None, result.retry_after
            return {"user": user.username, "uid": user.id, "sv": user.session_version}, 0

    async def login(self, request: Request) -> bool | Response:
        """Check the form's username and password; on success start a fresh session.

        Sign-in attempts are limited per client address (ZHITANG_TRUSTED_PROXIES decides whose X-Forwarded-For
        is believed) and per account (locked after repeated wrong passwords): either refusal is a 429.
        """
        verdict = await self.login_limiter.hit("login", client_address(request), scope="admin-login")
        if not verdict.allowed:
            return _too_many(request, verdict.retry_after)
        form = await request.form()
        found, retry_after = await run_in_threadpool(
            self._check_password, str(form.get("username") or "").strip(), str(form.get("password") or "")
        )
        if found is None:
            return _too_many(request, retry_after) if retry_after else False
        request.session.clear()  # a new session at sign-in: no fixation
        request.session.update(found, csrf=secrets.token_urlsafe(32), expires=now() + settings.ADMIN_SESSION_MAX_AGE)
        return True

    def _end_sessions(self, user_id: object) -> None:
        with self.session_maker() as session, session.begin():
            end_sessions(session, user_id)

    async def logout(self, request: Request) -> bool:
        """End the session: this browser's cookie and, on the server, every session of the account."""
        user_id = request.session.get("uid")
        request.session.clear()
        await run_in_threadpool(self._end_sessions, user_id)
        return False

    def _role_of(self, user_id: object, version: object) -> str | None:
        with self.session_maker() as session:
            user = session_user(session, user_id, version)
            return user.role if user else None

    async def authenticate(self, request: Request) -> bool:
        """True for a session that is signed in, not expired, and not ended on the server (see the class)."""
        username = current_user(request)
        if not username:
            return False
        if float(request.session.get("expires") or 0) < now():
            request.session.clear()
            return False
        role = await run_in_threadpool(self._role_of, request.session.get("uid"), request.session.get("sv"))
        if role is None:
            request.session.clear()
            return False
        request.state.staff_role = role
        return True

    async def get_user_id(self, request: Request) -> Any:
        """The signed-in username."""
        return current_user(request) or None


def keep_signed_in(request: Request, user_id: int, version: int) -> None:
    """After a change that ended the sessions of the signed-in staff member's own account (their own new
    password): this browser's session goes on under the new version; every other one has ended."""
    if request.session.get("uid") == user_id:
        request.session["sv"] = version


def _too_many(request: Request, seconds: int) -> HTMLResponse:
    """The 429 page of a refused sign-in: when to try again, in both languages, and the way back to the form."""
    wait_zh, wait_en = (
        (f"{math.ceil(seconds / 60)} 分钟", f"{math.ceil(seconds / 60)} minutes")
        if seconds >= 120
        else (f"{seconds} 秒", f"{seconds} seconds")
    )
    html = (
        "<!doctype html><meta charset=utf-8><title>429</title>"
        f"<p>登录尝试太多,请稍后再试(约 {wait_zh}后)。<br>Too many sign-in attempts: try again in {wait_en}.</p>"
        f"<p><a href='{escape(str(request.url_for('admin:login')))}'>返回登录 / Back to sign-in</a></p>"
    )
    return HTMLResponse(html, status_code=429, headers={"Retry-After": str(seconds), "Cache-Control": "no-store"})


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
