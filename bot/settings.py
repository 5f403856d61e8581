"""Settings read from the environment, with defaults that run locally (SQLite, in-memory locks).

Every setting is a ZHITANG_* variable (listed in the README). The unprefixed names of the previous release
(KB_DATABASE_URL, RASA_URL, ...) still work with a warning until the next release; ACTION_PORT, RASA_PORT and
GATEWAY_PORT, which the Makefile exports for the Procfile, stay without one.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

logger = logging.getLogger(__name__)

PREFIX = "ZHITANG_"
# Old names that stay valid without a warning: the Procfile's ports (the Makefile exports them for the Procfile's processes).
PROCFILE_NAMES = frozenset({"ACTION_PORT", "RASA_PORT", "GATEWAY_PORT"})
# Settings new in this release: only their ZHITANG_ name is read.
NEW_NAMES = frozenset(
    {
        "ANSWER_MIN_EVIDENCE",
        "NLU_SURE",
        "CLEAR_EVIDENCE",
        "CLEAR_MARGIN",
        "SUGGEST_MIN_EVIDENCE",
        "EVIDENCE_MARGIN",
        "CONTEST_NLU",
        "CONTEST_SHARE",
        "NLU_DECIDES",
        "NLU_CERTAIN",
        "RIVAL_SHARE",
        "RASA_TOKEN",  # unprefixed, it is the Rasa chart's HTTP-API token: never read here
        "ALLOWED_HOSTS",
        "HSTS_MAX_AGE",
        "BODY_TIMEOUT",
        "ADMIN_COOKIE_SECURE",
        "WECHAT_API_BASE",
        "WECHAT_ID_SECRET",
        "WECHAT_STORAGE",
        "WECHAT_REPLY_AFTER",
    }
)
# Names WeChat's Official Account console itself uses (issue 15): read as ZHITANG_<name>, else <name>, both
# without a warning.
WECHAT_NAMES = frozenset({"WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_ENCODING_AES_KEY"})
_warned: set[str] = set()  # old names already warned about in this process


def env(name: str, default: str) -> str:
    """ZHITANG_<name>; else the old unprefixed <name> (deprecated: one warning per name); else the default."""
    new = PREFIX + name
    if new in os.environ:
        return os.environ[new]
    if name in os.environ and name not in NEW_NAMES:
        if name not in PROCFILE_NAMES and name not in WECHAT_NAMES and name not in _warned:
            _warned.add(name)
            logger.warning("%s is deprecated, use %s; the old name stops working in the next release", name, new)
        return os.environ[name]
    return default


ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ZHITANG_VAR_DIR", ROOT / "var"))


def _sqlite_url(name: str) -> str:
    return f"sqlite:///{VAR_DIR / name}"


KB_DATABASE_URL = env("KB_DATABASE_URL", "") or _sqlite_url("kb.sqlite3")
KB_SOURCE_DIR = Path(env("KB_SOURCE_DIR", str(ROOT / "kb" / "source")))
# The base report's metadata (year, title, publication date) and the contact entry: kb/source/report.yml, read by
# kb.source; its text is reports/<year>.txt (every work report is kept there as reports/<its year>.txt).
REPORT_META_PATH = KB_SOURCE_DIR / "report.yml"
REPORTS_DIR = KB_SOURCE_DIR / "reports"
REPORT_PATH = REPORTS_DIR / f"{yaml.safe_load(REPORT_META_PATH.read_text(encoding='utf-8'))['year']}.txt"
ENTRIES_DIR = KB_SOURCE_DIR / "entries"
USERDICT_PATH = Path(env("JIEBA_USERDICT", str(ROOT / "build" / "jieba" / "userdict.txt")))

# How sure the bot must be (NLU ranking + names in the text + search, 0..1) to answer, or to suggest.
ANSWER_MIN_SCORE = float(env("ANSWER_MIN_SCORE", "0.5"))
ANSWER_MIN_SCORE_LOW_NLU = float(env("ANSWER_MIN_SCORE_LOW_NLU", "0.75"))
SUGGEST_MIN_SCORE = float(env("SUGGEST_MIN_SCORE", "0.3"))


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
    context_name: float = 0.2  # a specific name in the story around the question of a long message
    long_message_nlu: float = 0.5  # the NLU's confidence counts this much when it read a long story whole


# An answer needs this much support from the text itself (names, search, previous topic), not the NLU alone.
ANSWER_MIN_EVIDENCE = float(env("ANSWER_MIN_EVIDENCE", "0.2"))
# ... and may trail the entry the text supports most by at most this much (else the NLU is overruled).
EVIDENCE_MARGIN = float(env("EVIDENCE_MARGIN", "0.1"))
# ... unless the NLU gives that entry's intent at least this confidence for a short message.
NLU_SURE = float(env("NLU_SURE", "0.6"))
# ... and the NLU is certain of it from this confidence on: it is not second-guessed for a figure it lacks.
NLU_CERTAIN = float(env("NLU_CERTAIN", "0.9"))
# "Did you mean" lists only entries with this much support from the text.
SUGGEST_MIN_EVIDENCE = float(env("SUGGEST_MIN_EVIDENCE", "0.15"))
# ... or the text alone points at one entry: this much support, and this many times the next entry's.
CLEAR_EVIDENCE = float(env("CLEAR_EVIDENCE", "0.35"))
CLEAR_MARGIN = float(env("CLEAR_MARGIN", "1.6"))
# An answer is withheld ("did you mean") when the NLU gives another entry at least this confidence and the
# text backs that entry too: the NLU and the text disagree (actions.answering.contenders).
CONTEST_NLU = float(env("CONTEST_NLU", "0.5"))
# ... when the text backs the NLU's entry at least this share as much as its own pick (less is no backing:
# "医保报效了多少人次" backs enrolment by the word 医保 alone).
CONTEST_SHARE = float(env("CONTEST_SHARE", "0.3"))
# ... and from this NLU confidence on, with that backing, the NLU decides instead of asking: it read the whole
# message, the text's pick came from an incidental word ("my husband's factory job" in a question about school).
NLU_DECIDES = float(env("NLU_DECIDES", "0.97"))
# An entry that lacks the figure asked for yields to a runner-up that has it, when the text backs the runner-up
# at least this share as much as the entry's own (not shared) names and words ("how much did 医保 pay out").
RIVAL_SHARE = float(env("RIVAL_SHARE", "0.6"))


VOTES = Votes()
# Share of a question's (IDF-weighted) words a report sentence must hold to be offered; below, "I don't know".
SEARCH_MIN_COVERAGE = float(env("SEARCH_MIN_COVERAGE", "0.6"))

RASA_URL = env("RASA_URL", "http://127.0.0.1:5005")
# Scale-out: several Rasa replicas behind the gateway (comma-separated); empty means just RASA_URL.
RASA_URLS = [url.strip() for url in env("RASA_URLS", "").split(",") if url.strip()]
RASA_REPLICA_COOLDOWN = float(env("RASA_REPLICA_COOLDOWN", "5"))  # seconds a failed replica is skipped
# The gateway's token for Rasa's REST channel (`Authorization: Bearer`), which then refuses requests without
# it; empty: none sent, the channel is open on 127.0.0.1 (`make run`). Scale-out and Kubernetes set one.
# (The action server's secret, ZHITANG_ACTION_SECRET, is read by bot/ops/secrets.py.)
RASA_TOKEN = env("RASA_TOKEN", "")
# Ports of `make run`; the Procfile reads the same variables (ZHITANG_ACTION_PORT, else ACTION_PORT, ...).
ACTION_PORT = int(env("ACTION_PORT", "5055"))
RASA_PORT = int(env("RASA_PORT", "5005"))
GATEWAY_PORT = int(env("GATEWAY_PORT", "8000"))

# Residents' gateway (bot/web/gateway): proxies Rasa's REST channel for the residents' widget.
GATEWAY_HOST = env("GATEWAY_HOST", "127.0.0.1")  # 0.0.0.0 only without a reverse proxy in front
# Reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated addresses or CIDR networks, for
# uvicorn's forwarded_allow_ips and the gateway's and admin's per-address limits); empty: nobody's.
TRUSTED_PROXIES = [item.strip() for item in os.environ.get("ZHITANG_TRUSTED_PROXIES", "").split(",") if item.strip()]
RASA_TIMEOUT = float(env("RASA_TIMEOUT", "15"))  # seconds before "temporarily unavailable"
ALLOWED_ORIGINS = [
    origin.strip()
    for origin in env("ALLOWED_ORIGINS", f"http://localhost:{GATEWAY_PORT},http://127.0.0.1:{GATEWAY_PORT}").split(",")
    if origin.strip()
]
# Host names the gateway answers to (comma-separated; "*.example.org" for subdomains); any other Host header gets
# 400, so a DNS-rebound name cannot pass for the gateway's own origin. /healthz answers whatever the Host.
_OWN_HOSTS = ["localhost", "127.0.0.1"] + (
    [] if GATEWAY_HOST in ("0.0.0.0", "::", "localhost", "127.0.0.1") else [GATEWAY_HOST]
)
ALLOWED_HOSTS = [host.strip().lower() for host in env("ALLOWED_HOSTS", ",".join(_OWN_HOSTS)).split(",") if host.strip()]
# Strict-Transport-Security max-age on responses served over HTTPS (behind a proxy: its X-Forwarded-Proto);
# 0: none. Over plain http browsers ignore it, so `make run` on http://localhost is unaffected.
HSTS_MAX_AGE = int(env("HSTS_MAX_AGE", str(365 * 24 * 3600)))
# Seconds a client has to send a whole request body (/api/*, the admin's forms and uploads): else 408.
BODY_TIMEOUT = float(env("BODY_TIMEOUT", "60"))
CHAT_MAX_CHARS = int(env("CHAT_MAX_CHARS", "500"))
# `limits` storage URI: "memory://" for one process; "redis://host:6379" when several gateways share limits.
RATE_LIMIT_STORAGE = env("RATE_LIMIT_STORAGE", "memory://")
RATE_LIMIT_SESSION = env("RATE_LIMIT_SESSION", "20/minute")
RATE_LIMIT_ADDRESS = env("RATE_LIMIT_ADDRESS", "60/minute")

# Retention (kb/retention.py): residents' conversations, feedback and unanswered questions older than this many
# days are deleted by the web app (every PURGE_EVERY_HOURS; 0: never by itself) and by `make purge`.
RETENTION_DAYS = int(os.environ.get("ZHITANG_RETENTION_DAYS", "180"))
PURGE_EVERY_HOURS = float(os.environ.get("ZHITANG_PURGE_EVERY_HOURS", "24"))
# Rasa's tracker store (conversations), for the purge and residents' deletions; empty: the SQL tracker store
# endpoints.yml names (var/tracker.db locally). Scaled out: the PostgreSQL database of the tracker store.
TRACKER_DATABASE_URL = os.environ.get("ZHITANG_TRACKER_DATABASE_URL", "")

# Live handover to town staff (转人工; kb/handover.py). Defaults until staff set them in the admin (转人工设置):
# the hours staff answer in the widget (read by bot/office_hours.py, town time), public holidays as ISO dates
# (comma-separated: no live handover that day), and the minutes a resident waits before being offered to leave
# a message instead. The gateway looks for new staff messages in the database every HANDOVER_POLL_SECONDS.
OFFICE_HOURS = os.environ.get("ZHITANG_OFFICE_HOURS", "周一至周五 8:30-12:00，13:00-16:30")
HOLIDAYS = os.environ.get("ZHITANG_HOLIDAYS", "")
HANDOVER_WAIT_MINUTES = int(os.environ.get("ZHITANG_HANDOVER_WAIT_MINUTES", "10"))
HANDOVER_POLL_SECONDS = float(os.environ.get("ZHITANG_HANDOVER_POLL_SECONDS", "0.5"))

# Staff admin (bot/web/admin, mounted at /admin by bot/web/app.py).
# The session cookie's signing key; empty: a random key kept in $ZHITANG_VAR_DIR/admin-secret.key.
ADMIN_SECRET_KEY = os.environ.get("ZHITANG_ADMIN_SECRET", "")
ADMIN_SESSION_MAX_AGE = int(os.environ.get("ZHITANG_ADMIN_SESSION_MAX_AGE", str(8 * 3600)))  # seconds signed in
# The session cookie is Secure (sent over HTTPS only) unless this is "0". Chromium and Firefox also send a Secure
# cookie to http://localhost and http://127.0.0.1, so `make run` keeps working; "0" only for other plain-http use.
ADMIN_COOKIE_SECURE = env("ADMIN_COOKIE_SECURE", "1") != "0"
ADMIN_LOGIN_LIMIT = os.environ.get("ZHITANG_ADMIN_LOGIN_LIMIT", "10/minute")  # sign-in attempts per address
# An account refuses sign-in after this many wrong passwords in a row, from any address: first for
# ADMIN_LOCK_SECONDS, doubling with each further failure up to ADMIN_LOCK_MAX_SECONDS.
ADMIN_LOCK_AFTER = int(os.environ.get("ZHITANG_ADMIN_LOCK_AFTER", "5"))
ADMIN_LOCK_SECONDS = int(os.environ.get("ZHITANG_ADMIN_LOCK_SECONDS", "60"))
ADMIN_LOCK_MAX_SECONDS = int(os.environ.get("ZHITANG_ADMIN_LOCK_MAX_SECONDS", "3600"))
ADMIN_TIMEZONE = os.environ.get("ZHITANG_ADMIN_TIMEZONE", "Asia/Shanghai")  # how the admin shows times
# The first admin, created by `python -m kb ensure-admin` (make run) when no admin exists yet.
ADMIN_USER = os.environ.get("ZHITANG_ADMIN_USER", "")
ADMIN_PASSWORD = os.environ.get("ZHITANG_ADMIN_PASSWORD", "")

# WeChat Official Account channel (bot/web/wechat, /wechat): on when WECHAT_TOKEN is set (the console's Token).
WECHAT_TOKEN = env("WECHAT_TOKEN", "")
# AppID and AppSecret: the customer-service message API (answers slower than WeChat's 5 s; a verified service
# account); with the EncodingAESKey also safe mode (AES-encrypted messages with msg_signature).
WECHAT_APP_ID = env("WECHAT_APP_ID", "")
WECHAT_APP_SECRET = env("WECHAT_APP_SECRET", "")
WECHAT_ENCODING_AES_KEY = env("WECHAT_ENCODING_AES_KEY", "")
WECHAT_API_BASE = env("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/")  # tests: a fake WeChat server
# Key of the HMAC that turns an OpenID into the Rasa conversation id (the OpenID itself is never stored); empty:
# a random key generated once into $ZHITANG_VAR_DIR/wechat-id.key (set the same one on every gateway).
WECHAT_ID_SECRET = env("WECHAT_ID_SECRET", "")
# Where MsgIds seen, answers in flight, the last numbered suggestions and the access_token are shared: a Redis URL
# or an SQLAlchemy URL; empty: the rate limits' Redis when they have one, else the KB database when it is not
# SQLite, else $ZHITANG_VAR_DIR/wechat.sqlite3.
WECHAT_STORAGE = env("WECHAT_STORAGE", "")
# Seconds after which a passive reply gives up waiting ("success") and the answer goes by the customer-service API.
WECHAT_REPLY_AFTER = float(env("WECHAT_REPLY_AFTER", "4.5"))
