"""/wechat: the Official Account's server URL. GET answers the console's check; POST answers pushed messages.

A message for the bot goes to Rasa as a conversation of its own (the OpenID's keyed hash), masked as the
widget's are. WeChat waits 5 s for a passive reply and retries three times: the first request of a MsgId
(events: FromUserName + CreateTime) asks Rasa, every retry waits for that same answer (shared through the store
across replicas). Not ready after WECHAT_REPLY_AFTER seconds: "success", and the answer follows through the
customer-service API (with AppID and AppSecret) once Rasa has it, sent once whoever is waiting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import unicodedata
from collections.abc import Coroutine
from dataclasses import asdict
from typing import Any

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

from bot import settings
from bot.language import reply_language
from bot.privacy import mask
from bot.web.gateway.i18n import message as gateway_message
from bot.web.gateway.rasa_client import RasaClient, RasaUnavailable
from bot.web.gateway.ratelimit import RateLimiter
from bot.web.gateway.validation import InputError, read_limited
from bot.web.wechat.api import WeChatApi, WeChatApiError
from bot.web.wechat.identity import sender_id
from bot.web.wechat.protocol import MAX_BODY_BYTES, Inbound, Protocol, ProtocolError
from bot.web.wechat.render import Rendered, render, say, split, trim
from bot.web.wechat.store import Store

logger = logging.getLogger(__name__)

SUCCESS = "success"  # WeChat's "received, nothing to say now"
DEDUP_TTL = 600.0  # seconds a MsgId (and its answer) is remembered: WeChat's retries come within ~15 s
CHOICES_TTL = 24 * 3600.0  # a numbered suggestion can be picked until the next answer, or a day
CLICK_PREFIX = "TOPIC_"  # custom-menu keys: TOPIC_<entry id> asks /ask_<entry id> (docs/wechat-menu.json)
_ENTRY = re.compile(r"[a-z0-9_]{1,64}")
_NUMBER = re.compile(r"\s*(\d{1,2})\s*[.。、)）]?\s*")
# Events that need no answer (unsubscribing, opening a menu link, location reports, template-message receipts).
SILENT_EVENTS = {"unsubscribe", "view", "location", "templatesendjobfinish", "scan", "view_miniprogram"}


class WeChatChannel:
    """The channel's state: Rasa, the shared store, the API client, the answers this process is computing."""

    def __init__(
        self,
        rasa: RasaClient,
        limiter: RateLimiter,
        store: Store,
        api: WeChatApi,
        protocol: Protocol,
        reply_after: float | None = None,
    ):
        self.rasa, self.limiter, self.store, self.api, self.protocol = rasa, limiter, store, api, protocol
        self.reply_after = settings.WECHAT_REPLY_AFTER if reply_after is None else reply_after
        self.inflight: dict[str, asyncio.Task[Rendered]] = {}
        self.background: set[asyncio.Task[Any]] = set()
        self.rasa_calls = 0  # messages this process sent to Rasa (tests)

    # --- HTTP ---------------------------------------------------------------------------------------------

    async def verify(self, request: Request) -> Response:
        """GET /wechat?signature&timestamp&nonce&echostr: the echostr back, when signed with the Token."""
        q = request.query_params
        try:
            echo = self.protocol.verify(q.get("signature"), q.get("timestamp"), q.get("nonce"), q.get("echostr"))
        except ProtocolError as err:
            logger.warning("WeChat verification refused: %s", err.reason)
            return PlainTextResponse(err.reason, err.status)
        return PlainTextResponse(echo)

    async def receive(self, request: Request) -> Response:
        """POST /wechat: one pushed message -> a passive reply (XML), or "success"."""
        started = time.monotonic()
        try:
            inbound = self.protocol.read(await self._body(request), dict(request.query_params))
        except ProtocolError as err:
            logger.warning("WeChat push refused (%s): %s", err.status, err.reason)
            return PlainTextResponse(err.reason, err.status)
        text = await self.handle(inbound, started)
        if text is None:
            return PlainTextResponse(SUCCESS)
        return Response(self.protocol.reply(inbound, text), media_type="application/xml")

    @staticmethod
    async def _body(request: Request) -> bytes:
        """The push's body, read as the gateway reads a widget's (size and time limits), never empty."""
        try:
            body = await read_limited(request, MAX_BODY_BYTES)
        except InputError as err:
            raise ProtocolError(err.status, err.key.replace("_", " ")) from err
        if not body:
            raise ProtocolError(400, "empty body")
        return body

    # --- what a message asks for ----------------------------------------------------------------------------

    async def handle(self, inbound: Inbound, started: float) -> str | None:
        """The passive reply's text for a message (None: "success")."""
        fields = inbound.fields
        openid = fields.get("FromUserName", "")
        sender = sender_id(openid)
        kind = fields.get("MsgType", "").lower()
        if kind == "event":
            event = fields.get("Event", "").lower()
            if event == "subscribe":
                return say("welcome", "zh")
            if event == "click":
                key = fields.get("EventKey", "")
                entry = key[len(CLICK_PREFIX) :].lower() if key.startswith(CLICK_PREFIX) else ""
                if not _ENTRY.fullmatch(entry):
                    logger.warning("unknown custom-menu key %r", key[:80])
                    return say("welcome", "zh")
                return await self.ask(inbound, openid, sender, f"/ask_{entry}", None, started)
            if event not in SILENT_EVENTS:
                logger.info("WeChat event %r not handled", event[:40])
            return None
        if kind == "text":
            text = fields.get("Content", "")
        elif kind == "voice":
            text = fields.get("Recognition", "")
            if not text.strip():
                return say("voice_unclear", reply_language(header=None))
        else:  # image, location, link, video, shortvideo, file ...
            return say("type_or_speak", "zh")
        if not text.strip():
            return say("type_or_speak", "zh")
        return await self.ask(inbound, openid, sender, text, None, started)

    async def ask(
        self, inbound: Inbound, openid: str, sender: str, text: str, lang: str | None, started: float
    ) -> str | None:
        """The bot's answer to `text`, once per MsgId across retries and replicas."""
        key = self.message_key(inbound, sender)
        if await self.store.claim(f"msg:{key}", "1", DEDUP_TTL):
            self._start(key, self.answer(key, sender, text, lang))
        rendered = await self.wait_answer(key, started + self.reply_after)
        if rendered is not None:
            if await self.store.get(f"async:{key}") and not await self.store.claim(f"sent:{key}", "1", DEDUP_TTL):
                return None  # already on its way by the customer-service API
            return await self.first_part(key, openid, rendered)
        if self.api.enabled:
            if await self.store.claim(f"async:{key}", "1", DEDUP_TTL):
                self._spawn(self.send_later(key, openid))
            return None
        return say("still_working", reply_language(text))

    @staticmethod
    def message_key(inbound: Inbound, sender: str) -> str:
        """MsgId for messages; for events (no MsgId) the sender and CreateTime."""
        fields = inbound.fields
        if fields.get("MsgId"):
            return f"id:{fields['MsgId'][:64]}"
        return f"ev:{sender}:{fields.get('CreateTime', '')[:20]}"

    async def answer(self, key: str, sender: str, text: str, lang: str | None) -> Rendered:
        """Ask Rasa (a bare number picks the last answer's suggestion) and keep the rendered answer for retries."""
        question_lang = reply_language(text)
        try:
            text, lang = await self.pick_choice(sender, text, lang)
            verdict = await self.limiter.hit("session", sender, scope="wechat")
            if not verdict.allowed:
                rendered = Rendered(
                    [gateway_message("rate_limited", question_lang, seconds=verdict.retry_after)], lang=question_lang
                )
            elif len(text) > settings.CHAT_MAX_CHARS:
                rendered = Rendered(
                    [gateway_message("too_long", question_lang, limit=settings.CHAT_MAX_CHARS)], lang=question_lang
                )
            else:
                self.rasa_calls += 1
                messages = await self.rasa.send(sender, mask(text), lang)
                rendered = render(messages, lang or question_lang)
                await self.remember_choices(sender, rendered)
        except RasaUnavailable:
            rendered = Rendered(split(gateway_message("unavailable", question_lang)), lang=question_lang)
        except Exception:  # the store or anything else: the resident still hears something
            logger.exception("WeChat answer failed")
            rendered = Rendered(split(gateway_message("unavailable", question_lang)), lang=question_lang)
        try:
            await self.store.put(f"answer:{key}", json.dumps(asdict(rendered), ensure_ascii=False), DEDUP_TTL)
        except Exception:
            logger.exception("could not share a WeChat answer")
        return rendered

    async def pick_choice(self, sender: str, text: str, lang: str | None) -> tuple[str, str | None]:
        """A bare number answering the last answer's numbered suggestions becomes that suggestion's payload."""
        found = _NUMBER.fullmatch(unicodedata.normalize("NFKC", text))
        if not found:
            return text, lang
        raw = await self.store.get(f"choices:{sender}")
        if not raw:
            return text, lang
        saved = json.loads(raw)
        number = int(found.group(1))
        if 1 <= number <= len(saved["choices"]):
            return saved["choices"][number - 1]["payload"], saved.get("lang") or lang
        return text, lang

    async def remember_choices(self, sender: str, rendered: Rendered) -> None:
        """The numbered suggestions of the latest answer (keyed by the hashed id); none: forget the old ones."""
        if rendered.choices:
            value = json.dumps({"lang": rendered.lang, "choices": rendered.choices}, ensure_ascii=False)
            await self.store.put(f"choices:{sender}", value, CHOICES_TTL)
        else:
            await self.store.delete(f"choices:{sender}")

    # --- waiting and sending --------------------------------------------------------------------------------

    async def wait_answer(self, key: str, deadline: float) -> Rendered | None:
        """The answer for `key` once ready (this process's task, else the store), None at the deadline."""
        task = self.inflight.get(key)
        if task is not None:
            try:
                return await asyncio.wait_for(asyncio.shield(task), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                return None
        while True:
            raw = await self.store.get(f"answer:{key}")
            if raw:
                return Rendered(**json.loads(raw))
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.1)

    async def first_part(self, key: str, openid: str, rendered: Rendered) -> str:
        """The passive reply: the answer's first part; the rest follow by the API (or it is trimmed)."""
        parts = rendered.parts or [gateway_message("unavailable", rendered.lang)]
        if len(parts) == 1:
            return parts[0]
        if not self.api.enabled:
            return trim(parts, rendered.lang)
        if await self.store.claim(f"rest:{key}", "1", DEDUP_TTL):
            self._spawn(self.send_parts(openid, parts[1:], delay=0.5))
        return parts[0]

    async def send_later(self, key: str, openid: str) -> None:
        """The async path: wait for the answer, then send it by the customer-service API, once."""
        rendered = await self.wait_answer(key, time.monotonic() + settings.RASA_TIMEOUT + 10)
        if rendered is None:
            rendered = Rendered([gateway_message("unavailable", "zh")])
        if await self.store.claim(f"sent:{key}", "1", DEDUP_TTL):
            await self.send_parts(openid, rendered.parts)

    async def send_parts(self, openid: str, parts: list[str], delay: float = 0.0) -> None:
        """Customer-service messages, in order (after `delay`: the passive reply goes first)."""
        await asyncio.sleep(delay)
        for part in parts:
            try:
                await self.api.send_text(openid, part)
            except WeChatApiError as err:
                logger.error("customer-service message not sent: %s", err)
                return

    def _start(self, key: str, coro: Coroutine[Any, Any, Rendered]) -> None:
        task = asyncio.create_task(coro)
        self.inflight[key] = task
        task.add_done_callback(lambda _: self.inflight.pop(key, None))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def drain(self) -> None:
        """Wait for the answers and messages under way (tests; shutdown)."""
        while self.background or self.inflight:
            await asyncio.gather(*self.background, *self.inflight.values(), return_exceptions=True)

    async def aclose(self) -> None:
        for task in [*self.background, *self.inflight.values()]:
            task.cancel()
        await self.api.aclose()
        await self.store.aclose()
