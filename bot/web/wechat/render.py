"""The bot's messages as WeChat text: no buttons (numbered lines instead), one short source line, at most
MAX_BYTES bytes of UTF-8 per message (split, or trimmed, at a sentence)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.language import text_language
from bot.texts import Table, fill, load_texts

TEXTS: Table = load_texts(Path(__file__).with_name("messages.yml"))
MAX_BYTES = 2048  # WeChat's limit for a text message (passive reply and customer-service message alike)
QUOTE_CHARS = 40  # the source quote, one short line
# Buttons that say nothing more in WeChat: the source is already the line under the answer.
SHOWN_ANYWAY = {"/show_source"}
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
# Where a text may be cut: after a sentence's end (Chinese or Western) or a line break.
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…\n])|(?<=[.:] )")


def say(key: str, lang: str, **values: object) -> str:
    """A text of the channel's own (messages.yml) in the language."""
    return fill(TEXTS, key, lang, **values)


@dataclass
class Rendered:
    """What to send: the text(s), and the suggestions a bare number in the next message picks."""

    parts: list[str]
    choices: list[dict[str, str]] = field(default_factory=list)
    lang: str = "zh"


def short(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` on one line, at most `limit` characters (an ellipsis when cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def source_line(source: dict[str, Any] | None, lang: str) -> str | None:
    """The citation in one short line; None when there is nothing to cite."""
    if not source:
        return None
    if source.get("type") == "staff":
        return say("source_staff", lang)
    quote = source.get("quote") or source.get("sentence")
    if not isinstance(quote, str) or not quote.strip():
        return None
    report = source.get("report")
    title = report.get(lang) or report.get("zh") if isinstance(report, dict) else None
    return say("source_report", lang, report=title or "", quote=short(quote)).replace("《》", "")


def reply_lang(messages: list[dict[str, Any]], fallback: str) -> str:
    """The language the bot answered in (Rasa's language slot is not sent): by the answer's own words."""
    found = text_language(" ".join(str(m.get("text") or "") for m in messages))
    return found or fallback


def render(messages: list[dict[str, Any]], fallback_lang: str = "zh") -> Rendered:
    """Rasa's merged messages (rasa_client.merge_messages) as WeChat text, suggestions numbered."""
    lang = reply_lang(messages, fallback_lang)
    blocks: list[str] = []
    choices: list[dict[str, str]] = []
    cited = False
    for message in messages:
        lines = [_BOLD.sub(r"\1", message.get("text") or "").strip()]
        cite = source_line(message.get("source"), lang)
        if cite:
            lines.append(cite)
            cited = True
        blocks.append("\n".join(line for line in lines if line))
        for button in message.get("buttons") or []:
            if button["payload"] in SHOWN_ANYWAY and cited:
                continue
            if all(button["payload"] != choice["payload"] for choice in choices):
                choices.append({"title": button["title"], "payload": button["payload"]})
    if choices:
        blocks.append(
            "\n".join(say("choice", lang, number=i, title=c["title"]) for i, c in enumerate(choices, start=1))
        )
    text = "\n\n".join(block for block in blocks if block)
    return Rendered(split(text), choices, lang)


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, limit: int) -> tuple[str, str]:
    """The longest head of `text` within `limit` bytes (whole characters), and the rest."""
    head = text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    return head, text[len(head) :]


def split(text: str, limit: int = MAX_BYTES) -> list[str]:
    """`text` in pieces of at most `limit` UTF-8 bytes, cut after a sentence (or a line) where possible."""
    if utf8_len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for piece in (p for p in _SENTENCE_END.split(text) if p):
        while utf8_len(piece) > limit:  # a sentence longer than a message: cut by bytes
            if current:
                parts.append(current)
                current = ""
            head, piece = _cut(piece, limit)
            parts.append(head)
        if utf8_len(current + piece) > limit:
            parts.append(current)
            current = ""
        current += piece
    if current:
        parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def trim(parts: list[str], lang: str, limit: int = MAX_BYTES) -> str:
    """One message out of several (no customer-service API to send the rest): cut at a sentence, with a note."""
    if len(parts) <= 1:
        return parts[0] if parts else ""
    note = "\n" + say("more_follows", lang)
    return split(parts[0], limit - utf8_len(note))[0] + note
