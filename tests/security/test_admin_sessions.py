"""Issue 10, finding 2: a staff session ends on the server, not just in the browser.

Sign-out, a password change, a role change and switching an account off each end every session of that
account: a copy of its session cookie kept from before stops working at the next request, and switching the
account back on does not bring old cookies back.
"""

from __future__ import annotations

import base64
import json
import sys
import warnings
from pathlib import Path

import pytest
from fastapi import FastAPI
from itsdangerous import TimestampSigner
from sqlalchemy import select

from bot.web.admin import security
from kb.db import session_factory
from kb.models import StaffUser
from kb.users import set_password

with warnings.catch_warnings():  # Starlette's TestClient nags about httpx; it works as it is
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

COOKIE = "zhitang_admin"
SECRET = "test-secret-key"
ROLES = {"wang": "editor", "boss": "admin"}
# The admin tests' helpers: staff accounts, the admin on a bare app, a browser that handles CSRF.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "admin"))
from admin_helpers import StaffClient, admin_app_with  # noqa: E402


class Browser(StaffClient):
    """A browser on the admin: keeps its cookies, finds the page's CSRF token, signs in through the form."""

    def post(self, path: str, data: dict | None = None, token_from: str = "/admin/", **kwargs):
        return super().post(path, data, token_from=token_from, **kwargs)

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
    return admin_app_with(kb_url, monkeypatch, ROLES, ADMIN_SECRET_KEY=SECRET)


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
