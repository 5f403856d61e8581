"""Client of Rasa's REST channel: send a resident's message, get the bot's messages as the widget needs them."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot import settings

logger = logging.getLogger(__name__)

WEBHOOK = "/webhooks/rest/webhook"
SOURCE_KEYS = ("type", "quote", "sentence", "report", "who")


class RasaUnavailable(Exception):
    """Rasa (or the action server behind it) did not answer usefully: down, slow, failing or silent."""


def _buttons(raw: object) -> list[dict[str, str]]:
    """Only well-formed buttons, only their title and payload."""
    out = []
    for button in raw if isinstance(raw, list) else []:
        if isinstance(button, dict) and isinstance(button.get("title"), str) and isinstance(button.get("payload"), str):
            out.append({"title": button["title"], "payload": button["payload"]})
    return out


def _source(raw: object) -> dict[str, Any] | None:
    """The citation fields the widget shows."""
    if not isinstance(raw, dict):
        return None
    return {key: raw[key] for key in SOURCE_KEYS if raw.get(key) is not None} or None


def merge_messages(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's messages as [{text, buttons, source, kind, entry}]: each `custom` joins the text message before it."""
    out: list[dict[str, Any]] = []
    awaiting_custom = False  # the last message is a text that no custom payload has joined yet
    for message in raw:
        if not isinstance(message, dict):
            continue
        if isinstance(message.get("text"), str):
            buttons = _buttons(message.get("buttons"))
            out.append({"text": message["text"], "buttons": buttons, "source": None, "kind": None, "entry": None})
            awaiting_custom = True
            continue
        custom = message.get("custom")
        if not isinstance(custom, dict):
            continue  # images, attachments: nothing the widget shows
        if not awaiting_custom:
            out.append({"text": "", "buttons": [], "source": None, "kind": None, "entry": None})
        awaiting_custom = False
        out[-1]["kind"] = custom.get("kind") if isinstance(custom.get("kind"), str) else None
        out[-1]["entry"] = custom.get("entry") if isinstance(custom.get("entry"), str) else None
        out[-1]["source"] = _source(custom.get("source"))
    return [m for m in out if m["text"] or m["buttons"]]


class RasaClient:
    """Async HTTP client of one Rasa server's REST channel."""

    def __init__(self, base_url: str | None = None, timeout: float | None = None, **client_options: Any):
        timeout = settings.RASA_TIMEOUT if timeout is None else timeout
        self.base_url = (base_url or settings.RASA_URL).rstrip("/")
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            headers={"User-Agent": "zhitang-gateway"},
            **client_options,
        )

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        """The bot's reply to one message; RasaUnavailable when Rasa is down, slow, failing or silent."""
        try:
            response = await self.http.post(WEBHOOK, json={"sender": sender, "message": text})
            response.raise_for_status()
            raw = response.json()
        except httpx.TimeoutException as err:
            logger.warning("Rasa timed out: %r", err)
            raise RasaUnavailable("timeout") from err
        except httpx.HTTPStatusError as err:
            logger.error("Rasa answered %s", err.response.status_code)
            raise RasaUnavailable(f"status {err.response.status_code}") from err
        except httpx.HTTPError as err:
            logger.error("Rasa unreachable: %r", err)
            raise RasaUnavailable("unreachable") from err
        except ValueError as err:
            logger.error("Rasa sent something that is not JSON")
            raise RasaUnavailable("not json") from err
        if not isinstance(raw, list):
            raise RasaUnavailable("not a list")
        messages = merge_messages(raw)
        if not messages:  # what Rasa sends when its action server is down
            logger.error("Rasa sent no message (is the action server down?)")
            raise RasaUnavailable("empty reply")
        return messages

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()
