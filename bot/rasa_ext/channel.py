"""Rasa's REST channel as the gateway uses it: the widget's chosen language travels as message metadata.

It keeps the name "rest", so the webhook stays at /webhooks/rest/webhook. A button payload ("/greet",
"/ask_elder_allowance") skips Rasa's NLU components (Rasa's RegexMessageHandler parses it), so the language
the resident chose in the widget is added to the payload as the `language` entity; the gateway forwards only
plain payloads, never a resident's own entity JSON. Starting the channel applies our patches to Rasa.
Personal numbers in a message and its metadata are masked here as in the gateway (bot/privacy.py), so one
sent straight to the webhook reaches neither the NLU nor the tracker store raw.

When a token is configured (ZHITANG_RASA_TOKEN in Rasa's environment, or `token:` under the channel in
credentials.yml), only requests with `Authorization: Bearer <token>` reach a conversation; others get 401.
Scale-out and Kubernetes set one (the gateway sends it); local mode (`make run`) does not, so the channel on
127.0.0.1 answers plain requests (the README's curl).
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.language import LANGS, is_payload
from bot.privacy import mask_optional, mask_values
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


TOKEN_ENV = "ZHITANG_RASA_TOKEN"


def token_accepted(header: str | None, token: str) -> bool:
    """True when the Authorization header is `Bearer <token>` (compared in constant time)."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class ZhitangRestInput(RestInput):
    """RestInput that puts the widget's language on button payloads, asks for the gateway's token when one is
    configured, and applies bot.rasa_ext.patches."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ZhitangRestInput:
        return cls(token=(credentials or {}).get("token"))

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token or os.environ.get(TOKEN_ENV, "")
        patches.apply()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        webhook.listener("after_server_start")(patches.freeze_loaded_objects)  # after Rasa loaded the model
        token = self.token
        if not token:
            return webhook

        async def require_token(request: Request) -> HTTPResponse | None:
            """Let the health check (GET) through; refuse a message without the token before it reaches Rasa."""
            if request.method in ("GET", "HEAD") or token_accepted(request.headers.get("authorization"), token):
                return None
            return response.json(
                {"error": "missing or wrong token for this channel"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )

        webhook.middleware(require_token, "request")  # a plain function: Sanic's blueprints need one
        return webhook

    def _extract_message(self, req: Request) -> str | None:
        # Masked here too, for a message sent straight to the webhook rather than through the gateway.
        return with_chosen_language(mask_optional(super()._extract_message(req)), self.get_metadata(req))

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        """The message's metadata (Rasa stores it with the message), every text in it masked."""
        return mask_values(super().get_metadata(request))
