"""Client of Rasa's REST channel: send a resident's message, get the bot's messages as the widget needs them."""

from __future__ import annotations

import logging
import time
import zlib
from typing import Any

import httpx

from bot import settings
from bot.language import LANGS

logger = logging.getLogger(__name__)

WEBHOOK = "/webhooks/rest/webhook"
SOURCE_KEYS = ("type", "quote", "sentence", "report")  # never a staff member's name
HANDOVER_SIGNALS = ("queue", "message")  # a person now (the gateway queues it), or leave a message


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
        if isinstance(custom.get("handover"), dict) and custom["handover"].get("state") in HANDOVER_SIGNALS:
            out[-1]["handover"] = {"state": custom["handover"]["state"]}  # the action's signal (actions/handoff.py)
    return [m for m in out if m["text"] or m["buttons"]]


class RasaClient:
    """Async HTTP client of Rasa's REST channel, balancing over one or more replicas.

    A conversation sticks to one replica (by its session id); when that replica cannot be reached, the
    message goes to the next one, and the failed replica is skipped for a short cool-down. The Redis lock
    store keeps a conversation's messages in order whichever replica handles them.
    """

    def __init__(
        self,
        base_url: str | None = None,
        timeout: float | None = None,
        base_urls: list[str] | None = None,
        **client_options: Any,
    ):
        timeout = settings.RASA_TIMEOUT if timeout is None else timeout
        urls = base_urls or ([base_url] if base_url else settings.RASA_URLS or [settings.RASA_URL])
        self.base_urls = [url.rstrip("/") for url in urls]
        headers = {"User-Agent": "zhitang-gateway"}
        if settings.RASA_TOKEN:  # the REST channel's token (scale-out, Kubernetes); none in local mode
            headers["Authorization"] = f"Bearer {settings.RASA_TOKEN}"
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            headers=headers,
            **client_options,
        )
        self._skip_until: dict[str, float] = {}

    def replicas_for(self, sender: str) -> list[str]:
        """The replicas to try for a conversation: its own first, then the others; failed ones last."""
        start = zlib.crc32(sender.encode("utf-8")) % len(self.base_urls)
        ordered = self.base_urls[start:] + self.base_urls[:start]
        now = time.monotonic()
        return sorted(ordered, key=lambda url: self._skip_until.get(url, 0.0) > now)

    async def _post(self, sender: str, text: str, metadata: dict[str, Any]) -> httpx.Response:
        """POST to the conversation's replica, moving on to the next one when a replica cannot be reached."""
        last: Exception | None = None
        for url in self.replicas_for(sender):
            try:
                return await self.http.post(
                    url + WEBHOOK, json={"sender": sender, "message": text, "metadata": metadata}
                )
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as err:
                # Nothing (or no whole answer) came back from this replica: try another one.
                logger.warning("Rasa replica %s failed: %r", url, err)
                self._skip_until[url] = time.monotonic() + settings.RASA_REPLICA_COOLDOWN
                last = err
        raise httpx.ConnectError("no Rasa replica reachable") from last

    async def send(
        self, sender: str, text: str, lang: str | None = None, handover: bool = False
    ) -> list[dict[str, Any]]:
        """The bot's reply to one message; RasaUnavailable when Rasa is down, slow, failing or silent.

        `lang`, the language chosen in the widget, reaches Rasa as message metadata (bot.language's rule 2);
        `handover` says the channel can hand the conversation to town staff (the widget; actions/handoff.py).
        """
        metadata: dict[str, Any] = {"lang": lang} if lang in LANGS else {}
        if handover:
            metadata["handover"] = True
        try:
            response = await self._post(sender, text, metadata)
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
