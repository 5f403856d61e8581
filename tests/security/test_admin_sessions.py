"""Issue 10, finding 2: a staff session ends on the server, not just in the browser.

Sign-out, a password change, a role change and switching an account off each end every session of that
account: a copy of its session cookie kept from before stops working at the next request, and switching the
account back on does not bring old cookies back.
"""

from __future__ import annotations

import base64
import json
import re
import warnings

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from itsdangerous import TimestampSigner
from sqlalchemy import select

from bot import settings
from bot.web.admin import security
from kb import users
from kb.db import session_factory
from kb.models import StaffUser
from kb.users import create_user, set_password

with warnings.catch_warnings():  # Starlette's TestClient nags about httpx; it works as it is
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

COOKIE = "zhitang_admin"
SECRET = "test-secret-key"
PASSWORDS = {"wang": "wang-editor-pw", "boss": "boss-admin-pw"}
ROLES = {"wang": "editor", "boss": "admin"}
_TOKEN = re.compile(r'(?:<meta name="csrf-token" content="|name="csrf_token" value=")([^"]*)"')


class Browser:
    """A browser on the admin: keeps its cookies, finds the page's CSRF token, signs in through the form."""

    def __init__(self, app: FastAPI):
        self.http = TestClient(app, follow_redirects=False)

    def token(self, path: str = "/admin/login") -> str:
        found = _TOKEN.search(self.http.get(path).text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, username: str, password: str | None = None):
        data = {"username": username, "password": password or PASSWORDS[username], "csrf_token": self.token()}
        return self.http.post("/admin/login", data=data)

    def post(self, path: str, data: dict[str, str]):
        return self.http.post(path, data={**data, "csrf_token": self.token("/admin/")})

    def cookie(self) -> str:
        """The session cookie as a thief (or a shared computer) would keep it."""
        return self.http.cookies[COOKIE]


def signed_in_with(app: FastAPI, cookie: str) -> bool:
    """Whether a request carrying only this cookie reaches an admin page (else it is sent to sign in)."""
    response = TestClient(app, follow_redirects=False).get(
        "/admin/entry/list", headers={"Cookie": f"{COOKIE}={cookie}"}
    )
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


@pytest.fixture
def admin_app(kb_url: str, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """The admin alone on a bare app over the test KB, with an editor (wang) and an admin (boss)."""
    monkeypatch.setattr(settings, "ADMIN_SECRET_KEY", SECRET)
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))  # fast
    with session_factory(kb_url)() as session, session.begin():
        for name, role in ROLES.items():
            create_user(session, name, PASSWORDS[name], role)
    from bot.web.admin import mount

    app = FastAPI()
    mount(app)
    return app


def signed_in(app: FastAPI, username: str) -> Browser:
    browser = Browser(app)
    assert browser.login(username).status_code == 302
    return browser


def account_form(kb_url: str, username: str, **change: str) -> tuple[str, dict[str, str]]:
    """The account screen's edit URL and form for an account, as it stands, with `change` applied."""
    with session_factory(kb_url)() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        form = {"username": user.username, "role": user.role, "active": "y", "password": "", "save": "Save"}
        url = f"/admin/staff-user/edit/{user.id}"
    form.update(change)
    if form["active"] != "y":
        del form["active"]  # an unticked checkbox is not sent at all
    return url, form


def test_a_cookie_kept_from_before_logout_no_longer_works(admin_app):
    wang = signed_in(admin_app, "wang")
    kept = wang.cookie()
    assert signed_in_with(admin_app, kept)
    wang.http.get("/admin/logout")
    assert not signed_in_with(admin_app, kept)


def test_signing_out_ends_the_sessions_on_other_computers_too(admin_app):
    office, home = signed_in(admin_app, "wang"), signed_in(admin_app, "wang")
    office.http.get("/admin/logout")
    assert not signed_in_with(admin_app, home.cookie())
    assert signed_in_with(admin_app, signed_in(admin_app, "wang").cookie())  # signing in again works


def test_cookies_issued_before_a_password_change_no_longer_work(admin_app, kb_url):
    kept = signed_in(admin_app, "wang").cookie()
    boss = signed_in(admin_app, "boss")
    url, form = account_form(kb_url, "wang", password="a-brand-new-secret-77")
    assert boss.post(url, form).status_code == 302
    assert not signed_in_with(admin_app, kept)
    assert Browser(admin_app).login("wang", "a-brand-new-secret-77").status_code == 302


def test_a_password_set_from_the_command_line_ends_the_sessions_too(admin_app, kb_url):
    kept = signed_in(admin_app, "wang").cookie()
    with session_factory(kb_url)() as session, session.begin():
        set_password(session, "wang", "set-by-the-cli-2024x")
    assert not signed_in_with(admin_app, kept)


def test_an_admin_who_changes_their_own_password_stays_signed_in_only_where_they_did_it(admin_app, kb_url):
    here, elsewhere = signed_in(admin_app, "boss"), signed_in(admin_app, "boss")
    url, form = account_form(kb_url, "boss", password="boss-new-long-secret")
    assert here.post(url, form).status_code == 302
    assert signed_in_with(admin_app, here.cookie())
    assert not signed_in_with(admin_app, elsewhere.cookie())


def test_a_role_change_ends_the_sessions_of_the_account(admin_app, kb_url):
    kept = signed_in(admin_app, "wang").cookie()
    url, form = account_form(kb_url, "wang", role="viewer")
    assert signed_in(admin_app, "boss").post(url, form).status_code == 302
    assert not signed_in_with(admin_app, kept)


def test_reactivating_an_account_does_not_revive_its_old_cookies(admin_app, kb_url):
    kept = signed_in(admin_app, "wang").cookie()
    boss = signed_in(admin_app, "boss")
    for active in ("", "y"):  # switched off, then on again
        url, form = account_form(kb_url, "wang", active=active)
        assert boss.post(url, form).status_code == 302
    assert not signed_in_with(admin_app, kept)
    assert signed_in_with(admin_app, signed_in(admin_app, "wang").cookie())


def test_an_account_switched_off_in_the_database_does_not_revive_its_cookies_when_switched_on(admin_app, kb_url):
    kept = signed_in(admin_app, "wang").cookie()
    for active in (False, True):
        with session_factory(kb_url)() as session, session.begin():
            session.scalar(select(StaffUser).where(StaffUser.username == "wang")).active = active
    assert not signed_in_with(admin_app, kept)


def test_a_validly_signed_cookie_without_the_accounts_session_is_refused(admin_app):
    """A cookie signed with the right key but naming only a user (as cookies made before this check did)."""
    session = {"user": "wang", "csrf": "x", "expires": security.now() + 3600}
    forged = TimestampSigner(SECRET).sign(base64.b64encode(json.dumps(session).encode())).decode()
    assert not signed_in_with(admin_app, forged)


def test_a_session_still_works_until_something_ends_it(admin_app):
    wang = signed_in(admin_app, "wang")
    for _ in range(3):
        assert signed_in_with(admin_app, wang.cookie())
    assert wang.http.get("/admin/entry/list").status_code == 200
