"""Issue 10, finding 3: sign-in limits that a forged X-Forwarded-For cannot reset, and accounts that lock.

- X-Forwarded-For is believed only from ZHITANG_TRUSTED_PROXIES (nobody by default), by uvicorn as
  `python -m bot.web` runs it and by the app's own address logic;
- an account locks after repeated wrong passwords, from any address, for a delay that grows;
- a refused sign-in (address limit or lock) is a 429 with Retry-After;
- passwords have at least 12 characters and are not common ones;
- residents never see staff usernames (half of what a sign-in needs): staff facts cite "town staff".
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from starlette.requests import Request
from starlette.types import ASGIApp

import bot.web.__main__ as web_main
from bot import settings
from bot.web.admin import security
from bot.web.gateway.guards import client_address
from bot.web.gateway.rasa_client import merge_messages
from kb import users
from kb.db import session_factory
from kb.edits import add_staff_fact
from kb.index_cache import current_index
from kb.models import StaffUser
from kb.users import UserError, create_user, set_password

with warnings.catch_warnings():  # Starlette's TestClient nags about httpx; it works as it is
    warnings.simplefilter("ignore")

ROLES = {"wang": "editor", "boss": "admin"}
# The admin tests' helpers: staff accounts, the admin on a bare app, a browser that handles CSRF.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "admin"))
from admin_helpers import StaffClient, admin_app_with  # noqa: E402

WRONG = "not-the-password"


class Browser(StaffClient):
    """A browser on the admin from one address (behind a proxy, with the address it claims to forward)."""

    def __init__(self, app: ASGIApp, address: str = "203.0.113.10", forwarded_for: str | None = None):
        super().__init__(app, address, {"X-Forwarded-For": forwarded_for} if forwarded_for else None)  # type: ignore[arg-type]

    def post(self, path: str, data: dict | None = None, token_from: str = "/admin/", **kwargs):
        return super().post(path, data, token_from=token_from, **kwargs)


@pytest.fixture
def admin_app(kb_url: str, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """The admin alone on a bare app over the test KB, with an editor (wang) and an admin (boss)."""
    return admin_app_with(
        kb_url,
        monkeypatch,
        ROLES,
        ADMIN_LOGIN_LIMIT="10/minute",
        ADMIN_LOCK_AFTER=5,
        ADMIN_LOCK_SECONDS=60,
        ADMIN_LOCK_MAX_SECONDS=3600,
    )


@pytest.fixture
def uvicorn_options(monkeypatch: pytest.MonkeyPatch) -> Callable[[], dict]:
    """What `python -m bot.web` passes to uvicorn.run (run without serving anything)."""
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.setattr(web_main.os, "umask", lambda mask: 0o022)  # main() sets the process's umask: not here

    def options() -> dict:
        given: dict = {}
        monkeypatch.setattr(web_main.uvicorn, "run", lambda target, **kwargs: given.update(kwargs))
        web_main.main()
        return given

    return options


@pytest.fixture
def served(uvicorn_options: Callable[[], dict]) -> Callable[[FastAPI], ASGIApp]:
    """The app wrapped as `python -m bot.web` serves it: uvicorn with the options bot.web.__main__ gives it."""

    def serve(app: FastAPI) -> ASGIApp:
        config = uvicorn.Config(lambda: app, **{**uvicorn_options(), "factory": True, "log_config": None})
        config.load()
        return config.loaded_app

    return serve


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the admin's clock forward."""
    moved = security.now() + seconds
    monkeypatch.setattr(security, "now", lambda: moved)


# --- X-Forwarded-For -----------------------------------------------------------------------------------------


def test_a_rotating_x_forwarded_for_does_not_reset_the_per_address_limit(admin_app, served):
    app = served(admin_app)
    for n in range(10):  # the same machine, claiming to forward for ten different people
        assert Browser(app, "127.0.0.1", forwarded_for=f"198.51.100.{n}").login("nobody", WRONG).status_code == 400
    refused = Browser(app, "127.0.0.1", forwarded_for="198.51.100.99").login("wang")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_a_forwarded_address_is_believed_only_from_a_configured_proxy(admin_app, served, monkeypatch):
    monkeypatch.setattr(settings, "TRUSTED_PROXIES", ["10.0.0.0/8"])
    app = served(admin_app)
    for _ in range(10):  # one resident behind the proxy
        assert Browser(app, "10.1.2.3", forwarded_for="198.51.100.7").login("nobody", WRONG).status_code == 400
    assert Browser(app, "10.1.2.3", forwarded_for="198.51.100.7").login("wang").status_code == 429
    assert Browser(app, "10.1.2.3", forwarded_for="198.51.100.8").login("boss").status_code == 302  # another one
    for n in range(10):  # a client that is not the proxy is counted by its own address, whatever it sends
        assert (
            Browser(app, "192.0.2.50", forwarded_for=f"198.51.100.{n + 20}").login("nobody", WRONG).status_code == 400
        )
    assert Browser(app, "192.0.2.50", forwarded_for="198.51.100.99").login("boss").status_code == 429


def _request(peer: str, forwarded_for: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded_for.encode())] if forwarded_for else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 1234)})


@pytest.mark.parametrize(
    "trusted, peer, forwarded_for, address",
    [
        ([], "127.0.0.1", "198.51.100.1", "127.0.0.1"),  # nobody is trusted by default, not even localhost
        ([], "203.0.113.5", "198.51.100.1", "203.0.113.5"),
        (["10.0.0.0/8"], "203.0.113.5", "198.51.100.1", "203.0.113.5"),  # not the proxy
        (["10.0.0.0/8"], "10.0.0.9", "198.51.100.1", "198.51.100.1"),  # the proxy: the resident it forwards for
        (["10.0.0.0/8"], "10.0.0.9", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # what the resident wrote is ignored
        (["10.0.0.0/8", "127.0.0.1"], "127.0.0.1", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # two proxies
        (["10.0.0.0/8"], "10.0.0.9", None, "10.0.0.9"),
    ],
)
def test_the_gateways_address_of_a_client_believes_only_trusted_proxies(
    monkeypatch, trusted, peer, forwarded_for, address
):
    monkeypatch.setattr(settings, "TRUSTED_PROXIES", trusted)
    assert client_address(_request(peer, forwarded_for)) == address


def test_uvicorn_is_given_the_same_trusted_proxies(uvicorn_options, monkeypatch):
    monkeypatch.setattr(settings, "TRUSTED_PROXIES", [])
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own variable does not widen it
    assert uvicorn_options()["proxy_headers"] is False
    monkeypatch.setattr(settings, "TRUSTED_PROXIES", ["10.0.0.0/8", "192.168.1.4"])
    options = uvicorn_options()
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == ["10.0.0.0/8", "192.168.1.4"]


# --- locking accounts ----------------------------------------------------------------------------------------


def test_an_account_locks_after_repeated_wrong_passwords_from_any_address(admin_app, kb_url, monkeypatch):
    for n in range(4):  # four addresses, each far below its own limit
        assert Browser(admin_app, f"198.51.100.{n}").login("wang", WRONG).status_code == 400
    locking = Browser(admin_app, "198.51.100.4").login("wang", WRONG)
    assert locking.status_code == 429 and locking.headers["Retry-After"] == "60"
    refused = Browser(admin_app, "198.51.100.5").login("wang")  # even the right password, from a new address
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert "wang" not in refused.text  # the page does not echo the name
    assert Browser(admin_app, "198.51.100.5").login("boss").status_code == 302  # other accounts are not locked
    later(monkeypatch, 61)
    assert Browser(admin_app, "198.51.100.6").login("wang").status_code == 302


def test_each_further_failure_doubles_the_lock(admin_app, monkeypatch):
    browser = Browser(admin_app)
    for _ in range(4):
        browser.login("wang", WRONG)
    delays = []
    for step in range(8):
        response = browser.login("wang", WRONG)
        assert response.status_code == 429
        delays.append(int(response.headers["Retry-After"]))
        later(monkeypatch, delays[-1] + 1)  # wait it out
        browser = Browser(admin_app, f"198.51.100.{step}")  # a fresh address each time: no per-address limit
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]  # up to ZHITANG_ADMIN_LOCK_MAX_SECONDS


def test_a_locked_account_does_not_count_or_check_guesses(admin_app, kb_url):
    browser = Browser(admin_app)
    for _ in range(5):
        browser.login("wang", WRONG)
    for n in range(3):  # refused without a look at the password, and the lock is not made longer
        refused = Browser(admin_app, f"198.51.100.{n}").login("wang", WRONG if n % 2 else None)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 60
    with session_factory(kb_url)() as session:
        assert session.scalar(select(StaffUser.failed_logins).where(StaffUser.username == "wang")) == 5


def test_a_right_password_clears_the_failures(admin_app, kb_url):
    for _ in range(4):
        Browser(admin_app).login("wang", WRONG)
    assert Browser(admin_app, "198.51.100.1").login("wang").status_code == 302
    for n in range(4):
        assert Browser(admin_app, f"198.51.100.{n + 2}").login("wang", WRONG).status_code == 400
    with session_factory(kb_url)() as session:
        assert session.scalar(select(StaffUser.failed_logins).where(StaffUser.username == "wang")) == 4


def test_an_address_over_its_limit_gets_429_with_retry_after_in_both_languages(admin_app):
    browser = Browser(admin_app)
    for _ in range(10):
        assert browser.login("nobody", WRONG).status_code == 400
    refused = browser.login("wang")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "稍后再试" in refused.text and "try again" in refused.text
    assert "/admin/login" in refused.text  # a way back to the form


# --- passwords -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, why",
    [
        ("short-pw", "12"),
        ("abcdefghijk", "12"),  # 11
        ("password1234", "common"),  # in the list
        ("QwertyUIOP123", "common"),  # in the list, whatever the case
        ("sunshine2024!", "common"),  # a listed password with digits and a symbol added
        ("!!dragon!!2024", "common"),
        ("passwordpassword", "common"),  # repeated
        ("aaaaaaaaaaaaaaaa", "common"),
        pytest.param("ab1" * 100_000, "256", id="300k-characters"),  # refused at once, no slow look for repeats
    ],
)
def test_weak_passwords_are_refused_when_accounts_are_made_or_changed(kb_url, password, why):
    with session_factory(kb_url)() as session, session.begin():
        with pytest.raises(UserError, match=why):
            create_user(session, "chen", password, "viewer")
        create_user(session, "chen", "a-fine-long-passphrase", "viewer")
        with pytest.raises(UserError, match=why):
            set_password(session, "chen", password)


@pytest.mark.parametrize(
    "password", ["zhitang-town-2024", "支塘镇便民服务中心的密码", "correct horse battery", "Tr0ub4dor&3xy"]
)
def test_long_uncommon_passwords_are_accepted(kb_url, password):
    with session_factory(kb_url)() as session, session.begin():
        assert create_user(session, "chen", password, "viewer").username == "chen"
        assert users.authenticate(session, "chen", password) is not None


def test_the_account_screens_refuse_weak_passwords_in_both_languages(admin_app, kb_url):
    boss = Browser(admin_app)
    assert boss.login("boss").status_code == 302
    created = boss.post("/admin/staff-user/create", {"username": "chen", "password": "password1234", "role": "viewer"})
    assert created.status_code == 400
    assert "太常见" in created.text and "too common" in created.text
    with session_factory(kb_url)() as session:
        wang_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "wang"))
        assert session.scalar(select(StaffUser).where(StaffUser.username == "chen")) is None
    form = {"username": "wang", "role": "editor", "active": "y", "password": "short-pw", "save": "Save"}
    changed = boss.post(f"/admin/staff-user/edit/{wang_id}", form)
    assert changed.status_code == 400
    assert "至少 12 个字符" in changed.text and "at least 12 characters" in changed.text
    assert Browser(admin_app, "198.51.100.1").login("wang").status_code == 302  # the old password still works


# --- staff names -----------------------------------------------------------------------------------------------

STAFF_NAME = "zhang.wei77"


async def test_residents_never_see_the_username_of_the_staff_member_behind_a_fact(
    kb_url, make_tracker, domain, monkeypatch, staff_fact
):
    from rasa_sdk.executor import CollectingDispatcher

    from actions.service import ActionAnswerService, ActionShowSource

    with session_factory(kb_url)() as session, session.begin():
        key = add_staff_fact(session, "elder_allowance", staff_fact, STAFF_NAME).key
    current_index(kb_url)
    said = []
    for lang, question in (("zh", "尊老金每个月几号发"), ("en", "On which day is the elder allowance paid?")):
        slots = {"topic": "elder_allowance", "fact": key, "language": lang}
        answer = CollectingDispatcher()
        await ActionAnswerService().run(answer, make_tracker(question, "ask_elder_allowance", slots=slots), domain)
        source = CollectingDispatcher()
        await ActionShowSource().run(source, make_tracker("出处", "show_source", slots=slots), domain)
        said += answer.messages + source.messages
    assert any(m.get("custom", {}).get("source", {}).get("type") == "staff" for m in said)  # a staff fact it was
    assert STAFF_NAME not in repr(said)
    assert "镇工作人员" in said[-1]["text"] or "town staff" in said[-1]["text"]
    forwarded = merge_messages([{"text": "x"}, {"custom": {"source": {"type": "staff", "who": STAFF_NAME}}}])
    assert STAFF_NAME not in repr(forwarded)  # the gateway drops a name even if one came


def test_staff_still_see_who_provided_a_fact_in_the_admin(admin_app, kb_url):
    fact = {"kind": "statement", "zh": "每月10日前发放。", "en": "Paid by the 10th.", "keywords": {"zh": [], "en": []}}
    with session_factory(kb_url)() as session, session.begin():
        fact_id = add_staff_fact(session, "elder_allowance", fact, STAFF_NAME).id
    boss = Browser(admin_app)
    boss.login("boss")
    assert STAFF_NAME in boss.http.get(f"/admin/fact/details/{fact_id}").text
