"""Rasa's REST channel as the gateway uses it: the widget's chosen language travels as message metadata.

It keeps the name "rest", so the webhook stays at /webhooks/rest/webhook. A button payload ("/greet",
"/ask_elder_allowance") skips Rasa's NLU components (Rasa's RegexMessageHandler parses it), so the language
the resident chose in the widget is added to the payload as the `language` entity; the gateway forwards only
plain payloads, never a resident's own entity JSON. Starting the channel applies our patches to Rasa.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.core.channels.rest import RestInput
from sanic.request import Request

from bot.language import LANGS, is_payload
from bot.rasa_ext import patches


def with_chosen_language(text: str | None, metadata: dict[str, Any] | None) -> str | None:
    """A plain payload with the widget's language as its `language` entity; any other text unchanged."""
    lang = (metadata or {}).get("lang") if isinstance(metadata, dict) else None
    if not isinstance(text, str) or lang not in LANGS or not is_payload(text):
        return text
    payload = text.strip()
    if not payload[1:].replace("_", "").isalnum():  # already has entities, or is not a plain payload
        return text
    return payload + json.dumps({"language": lang})


class ZhitangRestInput(RestInput):
    """RestInput that puts the widget's language on button payloads, and applies bot.rasa_ext.patches."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        patches.apply()

    def _extract_message(self, req: Request) -> str | None:
        return with_chosen_language(super()._extract_message(req), self.get_metadata(req))
