"""Settings read from the environment, with defaults that run locally (SQLite, in-memory locks)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ZHITANG_VAR_DIR", ROOT / "var"))


def _sqlite_url(name: str) -> str:
    return f"sqlite:///{VAR_DIR / name}"


KB_DATABASE_URL = os.environ.get("KB_DATABASE_URL") or _sqlite_url("kb.sqlite3")
KB_SOURCE_DIR = Path(os.environ.get("KB_SOURCE_DIR", ROOT / "kb" / "source"))
# The report's metadata (year, title, file) and the contact entry: kb/source/report.yml, read by kb.source.
REPORT_META_PATH = KB_SOURCE_DIR / "report.yml"
REPORT_PATH = KB_SOURCE_DIR / str(yaml.safe_load(REPORT_META_PATH.read_text(encoding="utf-8"))["file"])
ENTRIES_DIR = KB_SOURCE_DIR / "entries"
USERDICT_PATH = Path(os.environ.get("JIEBA_USERDICT", ROOT / "build" / "jieba" / "userdict.txt"))

# How sure the bot must be (NLU ranking + names in the text + search, 0..1) to answer, or to suggest.
ANSWER_MIN_SCORE = float(os.environ.get("ANSWER_MIN_SCORE", "0.5"))
ANSWER_MIN_SCORE_LOW_NLU = float(os.environ.get("ANSWER_MIN_SCORE_LOW_NLU", "0.75"))
SUGGEST_MIN_SCORE = float(os.environ.get("SUGGEST_MIN_SCORE", "0.3"))


@dataclass(frozen=True)
class Votes:
    """What each clue adds to an entry's 0..1 score in actions.answering.choose_entry (NLU adds its confidence)."""

    first_name: float = 0.6  # the longest name in the question, specific to one entry
    other_name: float = 0.3  # a further specific name
    generic_name: float = 0.25  # a name that is part of another entry's name (医保 in 医保报销)
    search: float = 0.6  # times the BM25 hit's coverage of the question
    topicless_follow_up: float = 1.0  # previous topic, question without a subject ("实付金额呢?")
    follow_up: float = 0.5  # previous topic, NLU says follow-up or the question uses one of its fact words
    previous_topic: float = 0.25  # previous topic, any other question that names no service
    previous_topic_searched: float = 0.25  # previous topic is also the search's first hit


VOTES = Votes()
# Share of a question's (IDF-weighted) words a report sentence must hold to be offered; below, "I don't know".
SEARCH_MIN_COVERAGE = float(os.environ.get("SEARCH_MIN_COVERAGE", "0.6"))

RASA_URL = os.environ.get("RASA_URL", "http://127.0.0.1:5005")
# Scale-out: several Rasa replicas behind the gateway (comma-separated); empty means just RASA_URL.
RASA_URLS = [url.strip() for url in os.environ.get("RASA_URLS", "").split(",") if url.strip()]
RASA_REPLICA_COOLDOWN = float(os.environ.get("RASA_REPLICA_COOLDOWN", "5"))  # seconds a failed replica is skipped
ACTION_PORT = int(os.environ.get("ACTION_PORT", "5055"))
RASA_PORT = int(os.environ.get("RASA_PORT", "5005"))
GATEWAY_PORT = int(os.environ.get("GATEWAY_PORT", "8000"))

# Residents' gateway (bot/web/gateway): proxies Rasa's REST channel for the residents' widget.
GATEWAY_HOST = os.environ.get("GATEWAY_HOST", "127.0.0.1")  # 0.0.0.0 only without a reverse proxy in front
RASA_TIMEOUT = float(os.environ.get("RASA_TIMEOUT", "15"))  # seconds before "temporarily unavailable"
ALLOWED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get(
        "ALLOWED_ORIGINS", f"http://localhost:{GATEWAY_PORT},http://127.0.0.1:{GATEWAY_PORT}"
    ).split(",")
    if origin.strip()
]
CHAT_MAX_CHARS = int(os.environ.get("CHAT_MAX_CHARS", "500"))
# `limits` storage URI: "memory://" for one process; "redis://host:6379" when several gateways share limits.
RATE_LIMIT_STORAGE = os.environ.get("RATE_LIMIT_STORAGE", "memory://")
RATE_LIMIT_SESSION = os.environ.get("RATE_LIMIT_SESSION", "20/minute")
RATE_LIMIT_ADDRESS = os.environ.get("RATE_LIMIT_ADDRESS", "60/minute")

# Staff admin (bot/web/admin, mounted at /admin by bot/web/app.py).
# The session cookie's signing key; empty: a random key kept in $ZHITANG_VAR_DIR/admin-secret.key.
ADMIN_SECRET_KEY = os.environ.get("ZHITANG_ADMIN_SECRET", "")
ADMIN_SESSION_MAX_AGE = int(os.environ.get("ZHITANG_ADMIN_SESSION_MAX_AGE", str(8 * 3600)))  # seconds signed in
ADMIN_COOKIE_SECURE = os.environ.get("ZHITANG_ADMIN_COOKIE_SECURE", "0") == "1"  # "1" behind HTTPS
ADMIN_LOGIN_LIMIT = os.environ.get("ZHITANG_ADMIN_LOGIN_LIMIT", "10/minute")  # sign-in attempts per address
ADMIN_TIMEZONE = os.environ.get("ZHITANG_ADMIN_TIMEZONE", "Asia/Shanghai")  # how the admin shows times
# The first admin, created by `python -m kb ensure-admin` (make run) when no admin exists yet.
ADMIN_USER = os.environ.get("ZHITANG_ADMIN_USER", "")
ADMIN_PASSWORD = os.environ.get("ZHITANG_ADMIN_PASSWORD", "")
