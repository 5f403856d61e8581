"""Who may use the admin: anonymous refused everywhere, wrong password, CSRF, expiry, roles."""

from __future__ import annotations

import re

import pytest
from admin_helpers import PASSWORDS, StaffClient
from fastapi import FastAPI
from sqlalchemy import select
from starlette.routing import Mount, Route

from bot import settings
from bot.web.admin import security
from kb.db import session_factory
from kb.models import Entry, StaffUser

OPEN = {"/login", "/logout"}  # the sign-in page must be reachable; signing out needs no account


IDENTITIES = ("entry", "fact", "revision", "unanswered-question", "feedback", "staff-user")
MUST_COVER = {
    "/",
    "/{identity}/list",
    "/{identity}/details/{pk:path}",
    "/{identity}/edit/{pk:path}",
    "/{identity}/create",
    "/{identity}/delete",
    "/{identity}/export/{export_type}",
    "/{identity}/import",
    "/entry/retire/{pk}",
    "/fact/remove/{pk}",
    "/revision/restore/{pk}",
    "/unanswered-question/attach/{pk}",
    "/exchange",
    "/exchange/export.yml",
    "/exchange/import-yaml",
}


def _admin_routes(app: FastAPI) -> list[tuple[str, set[str]]]:
    """Every route of the mounted admin (but sign-in/out), with each view's name and an id filled in."""
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/admin")
    raw = {route.path: set(route.methods or {"GET"}) - {"HEAD"} for route in mount.routes if isinstance(route, Route)}
    assert MUST_COVER <= set(raw), MUST_COVER - set(raw)
    routes = []
    for path, methods in raw.items():
        if path in OPEN:
            continue
        for identity in IDENTITIES if "{identity}" in path else ("",):
            concrete = path.replace("{identity}", identity).replace("{export_type}", "csv")
            concrete = re.sub(r"\{pk(:path)?\}", "1", concrete).replace("{column_name}", "id")
            routes.append(("/admin" + concrete, methods))
    return routes


def _unchanged(kb_url: str) -> None:
    with session_factory(kb_url)() as session:
        entry = session.get(Entry, "elder_allowance")
        assert entry.revision == 1 and not entry.retired and entry.hours_zh is None


def test_every_admin_route_refuses_anonymous_users(admin_app, client, kb_url):
    routes = _admin_routes(admin_app)
    token = client.token()  # an anonymous visitor with a valid CSRF token is still anonymous
    for path, methods in routes:
        for method in methods:
            for data in ({}, {"csrf_token": token}):
                response = client.http.request(method, path, data=data if method != "GET" else None)
                assert response.status_code in (302, 303, 403), (method, path, response.status_code)
                if response.status_code in (302, 303):
                    assert response.headers["location"].endswith("/admin/login"), (method, path)
                assert "尊老金" not in response.text
    _unchanged(kb_url)


def test_anonymous_api_calls_get_no_data(client):
    for path in ("/admin/exchange/export.yml", "/admin/entry/ajax/lookup?name=x&term=a", "/admin/entry/export/csv"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["location"].endswith("/admin/login")


def test_wrong_password_and_unknown_user_are_refused(client):
    for username, password in (("wang", "not-the-password"), ("nobody", "whatever-pw"), ("wang", "")):
        response = client.login(username, password)
        assert response.status_code == 400
        assert "Wrong username or password" in response.text
        assert client.get("/admin/").headers["location"].endswith("/admin/login")


def test_sign_in_attempts_are_limited_per_address(client, monkeypatch):
    """After the limit of attempts from one address, even the right password is refused for a while."""

    for _ in range(10):
        assert client.login("nobody", "not-the-password").status_code == 400  # (a known name would lock)
    refused = client.login("wang")  # the right password, but too many attempts
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.get("/admin/").headers["location"].endswith("/admin/login")


def test_right_password_signs_in_and_sign_out_ends_it(client):
    response = client.login("wang")
    assert response.status_code == 302 and response.headers["location"].endswith("/admin/")
    page = client.get("/admin/")
    assert page.status_code == 200 and "wang" in page.text
    client.get("/admin/logout")
    assert client.get("/admin/").status_code == 302


def test_passwords_are_stored_as_argon2_hashes(admin_app, kb_url):
    with session_factory(kb_url)() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "wang"))
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORDS["wang"] not in user.password_hash


def test_sessions_expire(signed_in, monkeypatch):
    wang = signed_in("wang")
    assert wang.get("/admin/entry/list").status_code == 200
    later = security.now() + settings.ADMIN_SESSION_MAX_AGE + 1
    monkeypatch.setattr(security, "now", lambda: later)
    response = wang.get("/admin/entry/list")
    assert response.status_code == 302 and response.headers["location"].endswith("/admin/login")


def test_a_switched_off_account_is_signed_out(signed_in, kb_url):
    wang = signed_in("wang")
    with session_factory(kb_url)() as session, session.begin():
        session.scalar(select(StaffUser).where(StaffUser.username == "wang")).active = False
    assert wang.get("/admin/entry/list").status_code == 302
    assert wang.login("wang").status_code == 400


def test_a_post_without_the_csrf_token_is_refused(signed_in, kb_url):
    wang = signed_in("wang")
    form = {"revision": "1", "retired": "1"}
    for token in (None, "forged-token"):
        data = dict(form, **({"csrf_token": token} if token else {}))
        response = wang.http.post("/admin/entry/retire/elder_allowance", data=data)
        assert response.status_code == 403
    response = wang.http.post("/admin/entry/retire/elder_allowance", data=form, headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 403
    _unchanged(kb_url)
    # The same request with the page's token goes through.
    assert wang.post("/admin/entry/retire/elder_allowance", form).status_code == 303


def test_the_login_form_needs_the_csrf_token_too(client):
    client.token()
    response = client.http.post("/admin/login", data={"username": "wang", "password": PASSWORDS["wang"]})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "method, path, data",
    [
        ("GET", "/admin/entry/edit/elder_allowance", None),
        (
            "POST",
            "/admin/entry/edit/elder_allowance",
            {
                "revision": "1",
                "id": "elder_allowance",
                "topic": "elder_care",
                "title_zh": "改",
                "title_en": "X",
                "summary_zh": "改",
                "summary_en": "X",
                "hours_zh": "全天",
            },
        ),
        ("GET", "/admin/entry/create", None),
        (
            "POST",
            "/admin/entry/create",
            {
                "id": "new_one",
                "topic": "health",
                "title_zh": "新",
                "title_en": "New",
                "summary_zh": "新",
                "summary_en": "New",
            },
        ),
        ("GET", "/admin/entry/retire/elder_allowance", None),
        ("POST", "/admin/entry/retire/elder_allowance", {"revision": "1", "retired": "1"}),
        ("GET", "/admin/fact/edit/1", None),
        ("POST", "/admin/fact/edit/1", {"entry_revision": "1", "text_zh": "改", "text_en": "X"}),
        ("GET", "/admin/fact/create", None),
        ("POST", "/admin/revision/restore/1", {"revision": "1"}),
        ("POST", "/admin/unanswered-question/attach/1", {"entry_id": "elder_allowance"}),
        ("POST", "/admin/exchange/import-yaml", {"text": "[]", "apply": "1"}),
        ("GET", "/admin/staff-user/list", None),
        ("POST", "/admin/staff-user/create", {"username": "mole", "password": "mole-password", "role": "admin"}),
    ],
)
def test_a_viewer_can_read_but_not_change(signed_in, kb_url, method, path, data):
    li = signed_in("li")
    assert li.get("/admin/entry/list").status_code == 200
    assert li.get("/admin/entry/details/elder_allowance").status_code == 200
    response = li.get(path) if method == "GET" else li.post(path, data)
    assert response.status_code == 403, (method, path, response.status_code)
    _unchanged(kb_url)
    with session_factory(kb_url)() as session:
        assert session.get(Entry, "new_one") is None
        assert session.scalar(select(StaffUser).where(StaffUser.username == "mole")) is None


def test_a_viewer_sees_no_edit_buttons(signed_in):
    page = signed_in("li").get("/admin/entry/details/elder_allowance").text
    assert "/admin/entry/edit/elder_allowance" not in page and "/admin/entry/retire/" not in page
    editor = signed_in("wang").get("/admin/entry/details/elder_allowance").text
    assert "/admin/entry/edit/elder_allowance" in editor and "/admin/entry/retire/elder_allowance" in editor


def test_only_admins_manage_staff_accounts(signed_in, kb_url):
    assert signed_in("wang").get("/admin/staff-user/list").status_code == 403
    boss = signed_in("boss")
    assert boss.get("/admin/staff-user/list").status_code == 200
    response = boss.post(
        "/admin/staff-user/create",
        {"username": "chen", "password": "chen-password", "role": "viewer", "active": "y", "save": "Save"},
    )
    assert response.status_code == 302, response.text
    assert response.headers["location"].endswith("/admin/staff-user/list")  # SQLAdmin's own choice
    chen = StaffClient(boss.http.app)
    assert chen.login("chen", "chen-password").status_code == 302
    assert chen.get("/admin/entry/edit/elder_allowance").status_code == 403


def test_nothing_can_be_deleted(signed_in, kb_url):
    boss = signed_in("boss")
    for identity, pk in (("entry", "elder_allowance"), ("fact", "1"), ("revision", "1"), ("staff-user", "1")):
        token = boss.token("/admin/")
        response = boss.http.request("DELETE", f"/admin/{identity}/delete?pks={pk}", headers={"X-CSRF-Token": token})
        assert response.status_code == 403, identity
    _unchanged(kb_url)


def test_admins_change_roles_and_cannot_lock_everyone_out(signed_in, kb_url):
    boss = signed_in("boss")
    with session_factory(kb_url)() as session:
        ids = {u.username: u.id for u in session.scalars(select(StaffUser))}
    wang = signed_in("wang")
    assert wang.get("/admin/entry/edit/elder_allowance").status_code == 200
    form = {"username": "wang", "role": "viewer", "active": "y", "password": "", "save": "Save"}
    assert boss.post(f"/admin/staff-user/edit/{ids['wang']}", form).status_code == 302
    assert wang.get("/admin/entry/edit/elder_allowance").status_code == 302  # a new role ends the session
    assert signed_in("wang").get("/admin/entry/edit/elder_allowance").status_code == 403  # signed in again
    for change in ({"role": "editor", "active": "y"}, {"role": "admin"}):  # the only admin: demote, switch off
        form = {"username": "boss", "password": "", "save": "Save", **change}
        response = boss.post(f"/admin/staff-user/edit/{ids['boss']}", form)
        assert response.status_code == 400 and "at least one active admin" in response.text
    with session_factory(kb_url)() as session:
        boss_row = session.get(StaffUser, ids["boss"])
        assert (boss_row.role, boss_row.active) == ("admin", True)
