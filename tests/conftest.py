"""Shared fixtures: the real report and entries, a throw-away SQLite KB, Rasa trackers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import settings
from bot.language import message_language
from kb.build import build
from kb.db import create_schema, session_factory
from kb.search import KnowledgeIndex
from kb.shape import EntryData
from kb.source import load_checked
from tests.trackers import tracker_dict

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "kb" / "source"
ENTRIES_DIR = SOURCE_DIR / "entries"
REPORT_PATH = settings.REPORT_PATH


@pytest.fixture(autouse=True)
def _reached_as_testserver(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process tests reach the app the way Starlette's and httpx's test clients do: http://testserver.

    So that host is allowed, and the admin cookie is sent without Secure (Python's cookie jar never returns a
    Secure cookie over http, where browsers do on localhost). tests/security/test_headers.py checks the defaults.
    """
    monkeypatch.setattr(settings, "ALLOWED_HOSTS", [*settings.ALLOWED_HOSTS, "testserver"])
    monkeypatch.setattr(settings, "ADMIN_COOKIE_SECURE", False)


@pytest.fixture
def report_text() -> str:
    """The real 2022 work report."""
    return REPORT_PATH.read_text(encoding="utf-8")


@pytest.fixture
def entries() -> list[EntryData]:
    """The real YAML entries, checked against the report (a fresh copy for every test)."""
    checked, _ = load_checked(ENTRIES_DIR, REPORT_PATH)
    return checked


@pytest.fixture
def kb_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries, report_text) -> str:
    """A throw-away SQLite KB built from the real source; the actions are pointed at it."""
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    monkeypatch.setattr(settings, "KB_DATABASE_URL", url)
    create_schema(url)
    with session_factory(url)() as session, session.begin():
        build(session, entries, report_text)
    return url


@pytest.fixture
def index(kb_url: str) -> KnowledgeIndex:
    """The action server's search index of the test KB."""
    from kb.index_cache import current_index

    return current_index(kb_url)


@pytest.fixture
def staff_fact() -> dict[str, Any]:
    """A fact only staff know (when the allowance is paid), as the admin form or an import gives it."""
    return {
        "kind": "statement",
        "zh": "尊老金每月10日前发到老人的社保卡上。",
        "en": "The allowance reaches the senior's social security card by the 10th of each month.",
        "keywords": {"zh": ["什么时候发", "几号"], "en": ["when", "which day"]},
    }


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def domain() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
def make_tracker() -> Callable[..., Tracker]:
    """Build a tracker whose latest message is `text` (intent ranking defaults to the intent alone)."""

    def _make(
        text: str,
        intent: str | None = None,
        confidence: float = 0.9,
        ranking: list[dict[str, Any]] | None = None,
        slots: dict[str, Any] | None = None,
    ) -> Tracker:
        if ranking is None:
            ranking = [{"name": intent, "confidence": confidence}] if intent else []
        all_slots = {"language": "zh", "topic": None, "fact": None, **(slots or {})}
        # As in Rasa: the LanguageDetector's entity fills the `language` slot before any action runs.
        all_slots["language"] = message_language(text) or all_slots["language"]
        return Tracker.from_dict(tracker_dict(text, intent, confidence, ranking, all_slots))

    return _make
