"""Settings read from the environment, with defaults that run locally (SQLite, in-memory locks)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ZHITANG_VAR_DIR", ROOT / "var"))


def _sqlite_url(name: str) -> str:
    return f"sqlite:///{VAR_DIR / name}"


KB_DATABASE_URL = os.environ.get("KB_DATABASE_URL") or _sqlite_url("kb.sqlite3")
KB_SOURCE_DIR = Path(os.environ.get("KB_SOURCE_DIR", ROOT / "kb" / "source"))
REPORT_PATH = KB_SOURCE_DIR / "zhitang-2022-work-report.txt"
ENTRIES_DIR = KB_SOURCE_DIR / "entries"
USERDICT_PATH = Path(os.environ.get("JIEBA_USERDICT", ROOT / "build" / "jieba" / "userdict.txt"))

# How sure the bot must be (NLU ranking + names in the text + search, 0..1) to answer, or to suggest.
ANSWER_MIN_SCORE = float(os.environ.get("ANSWER_MIN_SCORE", "0.5"))
ANSWER_MIN_SCORE_LOW_NLU = float(os.environ.get("ANSWER_MIN_SCORE_LOW_NLU", "0.75"))
SUGGEST_MIN_SCORE = float(os.environ.get("SUGGEST_MIN_SCORE", "0.3"))
# Share of a question's (IDF-weighted) words a report sentence must hold to be offered; below, "I don't know".
SEARCH_MIN_COVERAGE = float(os.environ.get("SEARCH_MIN_COVERAGE", "0.6"))

RASA_URL = os.environ.get("RASA_URL", "http://127.0.0.1:5005")
ACTION_PORT = int(os.environ.get("ACTION_PORT", "5055"))
RASA_PORT = int(os.environ.get("RASA_PORT", "5005"))
GATEWAY_PORT = int(os.environ.get("GATEWAY_PORT", "8000"))
