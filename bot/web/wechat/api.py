"""WeChat's server API, as far as the channel needs it: the access_token (cached in the shared store, refreshed
before it expires) and the customer-service message (客服消息) for answers slower than a passive reply."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx

from bot import settings
from bot.web.wechat.store import Store

logger = logging.getLogger(__name__)

TOKEN_KEY = "access_token"
TOKEN_LOCK = "access_token:refreshing"
REFRESH_MARGIN = 300.0  # seconds before expiry a token is replaced (WeChat's last 5 minutes overlap the next)
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid, malformed or expired access_token: fetch a new one, try again


class WeChatApiError(Exception):
    """WeChat's API refused a call (errcode) or could not be reached."""


class WeChatApi:
    """Async client of {base}/cgi-bin/token and {base}/cgi-bin/message/custom/send."""

    def __init__(
        self,
        store: Store,
        app_id: str | None = None,
        app_secret: str | None = None,
        base_url: str | None = None,
        http: httpx.AsyncClient | None = None,
    ):
        self.store = store
        self.app_id = settings.WECHAT_APP_ID if app_id is None else app_id
        self.app_secret = settings.WECHAT_APP_SECRET if app_secret is None else app_secret
        self.base_url = (base_url or settings.WECHAT_API_BASE).rstrip("/")
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))
        self.token_fetches = 0  # how many times this process asked WeChat for a token (tests)

    @property
    def enabled(self) -> bool:
        """The customer-service API needs the AppID and AppSecret."""
        return bool(self.app_id and self.app_secret)

    async def _fetch_token(self) -> tuple[str, float]:
        response = await self.http.get(
            self.base_url + "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret},
        )
        data = self._json(response)
        token, expires_in = data.get("access_token"), data.get("expires_in", 7200)
        if not isinstance(token, str) or not token:
            raise WeChatApiError(f"no access_token (errcode {data.get('errcode')})")
        self.token_fetches += 1
        return token, time.time() + float(expires_in)

    async def access_token(self, refresh: bool = False) -> str:
        """A valid token: the shared one while it has more than REFRESH_MARGIN left, else a new one.

        One replica refreshes at a time (a short lock in the store); the others wait for its token briefly,
        then fetch their own rather than fail (a new token leaves the previous one valid for a few minutes).
        """
        for _ in range(30):
            cached = None if refresh else await self.store.get(TOKEN_KEY)
            if cached:
                token, _, expires = cached.rpartition(" ")
                if token and float(expires) - time.time() > REFRESH_MARGIN:
                    return token
            if await self.store.claim(TOKEN_LOCK, "1", 10.0):
                try:
                    token, expires_at = await self._fetch_token()
                    ttl = max(1.0, expires_at - time.time())
                    await self.store.put(TOKEN_KEY, f"{token} {expires_at}", ttl)
                    return token
                finally:
                    await self.store.delete(TOKEN_LOCK)
            refresh = False  # someone else is refreshing: take theirs
            await asyncio.sleep(0.1)
        token, _ = await self._fetch_token()
        return token

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as err:
            raise WeChatApiError(f"not JSON (HTTP {response.status_code})") from err
        if not isinstance(data, dict):
            raise WeChatApiError("not a JSON object")
        return data

    async def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message to the user (who wrote within the last 48 hours)."""
        body = json.dumps(
            {"touser": openid, "msgtype": "text", "text": {"content": content}}, ensure_ascii=False
        ).encode("utf-8")
        refresh = False
        for _ in range(2):
            token = await self.access_token(refresh)
            try:
                response = await self.http.post(
                    self.base_url + "/cgi-bin/message/custom/send",
                    params={"access_token": token},
                    content=body,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
            except httpx.HTTPError as err:
                raise WeChatApiError(f"unreachable: {err!r}") from err
            code = self._json(response).get("errcode", 0)
            if code == 0:
                return
            if code in TOKEN_ERRORS and not refresh:
                refresh = True
                continue
            raise WeChatApiError(f"custom/send errcode {code}")

    async def aclose(self) -> None:
        await self.http.aclose()
