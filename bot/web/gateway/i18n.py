"""The gateway's own messages (errors, rate limit, unavailable) in Chinese and English, from messages.yml."""

from __future__ import annotations

from pathlib import Path

from bot.texts import Table, fill, load_texts

MESSAGES: Table = load_texts(Path(__file__).with_name("messages.yml"))


def message(key: str, lang: str, **values: object) -> str:
    """A gateway message in the language (Chinese when unknown), with its placeholders filled."""
    return fill(MESSAGES, key, lang, **values)
