"""The staff admin mounted on a bare FastAPI app over the throw-away KB, with four staff accounts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from admin_helpers import StaffClient, admin_app_with
from fastapi import FastAPI


@pytest.fixture
def admin_app(kb_url: str, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """A bare FastAPI app with the admin mounted on the test KB, and four staff accounts."""
    return admin_app_with(kb_url, monkeypatch)


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
