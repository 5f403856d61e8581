"""The staff admin mounted on a bare FastAPI app over the throw-away KB, with four staff accounts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from admin_helpers import PASSWORDS, ROLES, StaffClient
from argon2 import PasswordHasher
from fastapi import FastAPI

from bot import settings
from kb import users
from kb.db import session_factory
from kb.users import create_user


@pytest.fixture
def admin_app(kb_url: str, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """A bare FastAPI app with the admin mounted on the test KB, and four staff accounts."""
    monkeypatch.setattr(settings, "ADMIN_SECRET_KEY", "test-secret-key")
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))  # fast
    with session_factory(kb_url)() as session, session.begin():
        for name, role in ROLES.items():
            create_user(session, name, PASSWORDS[name], role)
    from bot.web.admin import mount

    app = FastAPI()
    mount(app)
    return app


@pytest.fixture
def client(admin_app: FastAPI) -> Iterator[StaffClient]:
    """An anonymous browser."""
    yield StaffClient(admin_app)


@pytest.fixture
def signed_in(admin_app: FastAPI) -> Callable[[str], StaffClient]:
    """A browser signed in as one of the staff accounts (wang editor, li viewer, boss admin, zhao editor)."""

    def _make(username: str) -> StaffClient:
        staff = StaffClient(admin_app)
        response = staff.login(username)
        assert response.status_code == 302, response.text
        return staff

    return _make
