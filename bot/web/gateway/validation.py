"""Checks on what the widget sends: JSON body, session id, message text, feedback fields."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import anyio
from fastapi import Request
from starlette.requests import ClientDisconnect

from bot import settings
from kb.models import RATING_OCCASIONS, SATISFACTION_LEVELS

MAX_BODY_BYTES = 16_384
MAX_ANSWER_CHARS = 4_000
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
ENTRY_ID = re.compile(r"[a-z0-9_]{1,64}")
# A quick-reply button's payload: "/intent", nothing more (no entities JSON for Rasa to parse).
PAYLOAD = re.compile(r"/[a-z][a-z0-9_]{0,63}")
# Payloads that would restart or rewind the conversation silently; sent as plain words instead.
RESERVED_PAYLOADS = {"/restart", "/session_start", "/back"}
# Invisible formatting characters that are dropped rather than refused (zero-width, bidi controls, BOM).
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


class InputError(Exception):
    """Input the gateway refuses: an HTTP status and the key of the message shown to the resident."""

    def __init__(self, status: int, key: str, **values: Any):
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object (415, 413, 408 or 400 otherwise; never an exception of another kind).

    The body is refused by its declared length before it is read, read up to MAX_BODY_BYTES within
    settings.BODY_TIMEOUT seconds, and nesting too deep for the parser (`[` thousands of times) is a 400.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise InputError(415, "bad_content_type")
    return _parse(await read_limited(request, MAX_BODY_BYTES))


async def read_limited(request: Request, limit: int) -> bytes:
    """The request's body, at most `limit` bytes (413: refused by its declared length before it is read, or
    once it grows past it), within settings.BODY_TIMEOUT seconds (408); a client gone mid-body is a 400."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise InputError(413, "too_large")
    body = bytearray()
    with anyio.move_on_after(settings.BODY_TIMEOUT):
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise InputError(413, "too_large")
        except ClientDisconnect as err:  # gone mid-body: nobody reads the answer, but no traceback either
            raise InputError(400, "bad_json") from err
        return bytes(body)
    raise InputError(408, "too_slow")


def _parse(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:  # RecursionError: nested too deep
        raise InputError(400, "bad_json") from err
    if not isinstance(data, dict):
        raise InputError(400, "bad_json")
    return data


async def read_body(request: Request) -> tuple[dict[str, Any], InputError | None]:
    """read_json() that hands back its refusal instead of raising it (so the request is still counted).

    Callers count the request against the address's rate limit before acting on the refusal, or on anything
    else (origin, fields): every request counts, well-formed or not.
    """
    try:
        return await read_json(request), None
    except InputError as err:
        return {}, err


def has_control_chars(text: str) -> bool:
    """Whether a text holds control characters (other than tab and newlines) or lone surrogates."""
    return any(
        (unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS) or unicodedata.category(ch) == "Cs"
        for ch in text
    )


def check_session(value: object) -> str:
    """A session id: 8-64 letters, digits, '-' or '_'."""
    if not isinstance(value, str) or not SESSION_ID.fullmatch(value):
        raise InputError(400, "bad_session")
    return value


def check_text(value: object) -> str:
    """The message to forward: present, text, no control characters, at most CHAT_MAX_CHARS, whitespace folded."""
    if value is None:
        raise InputError(400, "empty")
    if not isinstance(value, str):
        raise InputError(400, "bad_text")
    if has_control_chars(value):
        raise InputError(400, "control_chars")
    text = " ".join(_INVISIBLE.sub("", value).split())
    if text.startswith("/") and (not PAYLOAD.fullmatch(text) or text in RESERVED_PAYLOADS):
        text = text.lstrip("/").strip()  # not a button payload: plain words, so Rasa does not parse it
    if not text:
        raise InputError(400, "empty")
    if len(text) > settings.CHAT_MAX_CHARS:
        raise InputError(400, "too_long", limit=settings.CHAT_MAX_CHARS)
    return text


def _optional_text(value: object, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or has_control_chars(value) or len(value) > limit:
        raise InputError(400, "bad_feedback")
    return value.strip() or None


SATISFACTION_KEYS = {"session", "satisfaction", "occasion", "lang"}


def check_satisfaction(data: dict[str, Any]) -> dict[str, Any]:
    """A 5-level rating of a conversation: {session, satisfaction, occasion: end|handoff, lang?}, nothing else."""
    session = check_session(data.get("session"))
    lang = data.get("lang")
    if set(data) - SATISFACTION_KEYS or data.get("satisfaction") not in SATISFACTION_LEVELS:
        raise InputError(400, "bad_feedback")
    if data.get("occasion") not in RATING_OCCASIONS or (lang is not None and lang not in ("zh", "en")):
        raise InputError(400, "bad_feedback")
    return {"session_id": session, "level": data["satisfaction"], "occasion": data["occasion"], "lang": lang}


def check_feedback(data: dict[str, Any]) -> dict[str, Any]:
    """A feedback row's fields: session, rating up|down, optional question, answer, entry and lang."""
    session = check_session(data.get("session"))
    rating = data.get("rating")
    entry = data.get("entry")
    lang = data.get("lang")
    if rating not in ("up", "down"):
        raise InputError(400, "bad_feedback")
    if entry is not None and (not isinstance(entry, str) or not ENTRY_ID.fullmatch(entry)):
        raise InputError(400, "bad_feedback")
    if lang is not None and lang not in ("zh", "en"):
        raise InputError(400, "bad_feedback")
    return {
        "session": session,
        "rating": rating,
        "question": _optional_text(data.get("question"), settings.CHAT_MAX_CHARS),
        "answer": _optional_text(data.get("answer"), MAX_ANSWER_CHARS),
        "entry_id": entry,
        "lang": lang,
    }
