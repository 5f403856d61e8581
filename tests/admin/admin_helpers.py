"""Helpers of the admin tests: staff accounts, a browser-like client that handles CSRF, reading a page's form."""

from __future__ import annotations

import re
import warnings
from html import unescape

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

with warnings.catch_warnings():  # Starlette's TestClient nags about httpx; it works as it is
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


PASSWORDS = {"wang": "wang-editor-pw", "li": "li-viewer-pw", "boss": "boss-admin-pw", "zhao": "zhao-editor-pw"}
ROLES = {"wang": "editor", "li": "viewer", "boss": "admin", "zhao": "editor"}
_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')
_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


def admin_app_with(
    kb_url: str, monkeypatch: pytest.MonkeyPatch, roles: dict[str, str] = ROLES, **settings_values: object
) -> FastAPI:
    """A bare FastAPI app with the admin mounted on the test KB, the staff accounts of `roles` (passwords from
    PASSWORDS), a fixed session key, a fast password hash, and any settings given (ADMIN_LOCK_AFTER=5 …)."""
    from bot import settings
    from bot.web.admin import mount
    from kb import users
    from kb.db import session_factory
    from kb.users import create_user

    for name, value in {"ADMIN_SECRET_KEY": "test-secret-key", **settings_values}.items():
        monkeypatch.setattr(settings, name, value)
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))  # fast
    with session_factory(kb_url)() as session, session.begin():
        for name, role in roles.items():
            create_user(session, name, PASSWORDS[name], role)
    app = FastAPI()
    mount(app)
    return app


class StaffClient:
    """A TestClient that keeps its cookies, finds the page's CSRF token and signs in like a browser (from one
    client address, with any headers it always sends)."""

    def __init__(self, app: FastAPI, address: str = "testclient", headers: dict[str, str] | None = None):
        self.http = TestClient(app, follow_redirects=False, client=(address, 40000), headers=headers)

    def token(self, path: str = "/admin/login") -> str:
        """The CSRF token a page of the admin carries."""
        html = self.http.get(path).text
        found = _META.search(html) or _FIELD.search(html)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, username: str, password: str | None = None):
        """Sign in through the login form."""
        data = {
            "username": username,
            "password": PASSWORDS[username] if password is None else password,
            "csrf_token": self.token(),
        }
        return self.http.post("/admin/login", data=data)

    def get(self, path: str, **kwargs):
        """GET a page."""
        return self.http.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, token_from: str = "/admin/login", **kwargs):
        """POST a form with the session's CSRF token, as the admin's pages do."""
        data = {**(data or {}), "csrf_token": self.token(token_from)}
        return self.http.post(path, data=data, **kwargs)


def form_values(html: str) -> dict[str, str | list[str]]:
    """The values a browser would submit from the page's form (inputs, textareas, selected options)."""
    values: dict[str, str | list[str]] = {}
    for tag in re.finditer(r"<input\b([^>]*)>", html):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(1)))
        if attrs.get("name") and attrs.get("type") not in ("submit", "checkbox", "file", "radio"):
            values[attrs["name"]] = unescape(attrs.get("value", ""))
    for area in re.finditer(r'<textarea\b[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        values[area.group(1)] = unescape(area.group(2).lstrip("\r\n"))
    for select in re.finditer(r"<select\b([^>]*)>(.*?)</select>", html, re.S):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', select.group(1)))
        if not attrs.get("name"):
            continue
        chosen = []
        for option in re.finditer(r"<option\b([^>]*)>", select.group(2)):
            if re.search(r"\bselected\b", option.group(1)):
                chosen.append(unescape(dict(re.findall(r'([\w-]+)="([^"]*)"', option.group(1))).get("value", "")))
        values[attrs["name"]] = chosen if "multiple" in select.group(1) else (chosen[0] if chosen else "")
    return values
