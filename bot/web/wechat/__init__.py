"""The WeChat Official Account channel (微信公众号, issue 15): /wechat on the web app, on when WECHAT_TOKEN is set.

protocol.py  signatures, safe mode (AES) and XML (wechatpy, defusedxml)    render.py  the bot's messages as WeChat text
channel.py   the endpoint: dedup by MsgId, passive reply or async path     api.py     access_token, 客服消息
store.py     state shared by replicas (Redis or SQL)                      identity.py  OpenID -> keyed-hash conversation id
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI

from bot import settings
from bot.web.wechat.api import WeChatApi
from bot.web.wechat.channel import WeChatChannel
from bot.web.wechat.protocol import Protocol
from bot.web.wechat.store import Store, open_store

PATH = "/wechat"
_OPENID_PARAM = re.compile(r"((?:^|[?&])openid=)[^&\s]*", re.IGNORECASE)


class HideOpenId(logging.Filter):
    """WeChat adds `openid=` to the URL of each push: uvicorn's access log gets the path without its value."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and "openid=" in a.lower() for a in record.args):
            record.args = tuple(_OPENID_PARAM.sub(r"\1-", a) if isinstance(a, str) else a for a in record.args)
        return True


def install_log_filter() -> None:
    """Once per process, on uvicorn's access logger."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideOpenId) for f in access.filters):
        access.addFilter(HideOpenId())


def mount(app: FastAPI, store: Store | None = None, api: WeChatApi | None = None) -> WeChatChannel | None:
    """GET and POST /wechat on `app` (after the gateway's routes: it uses their Rasa client and limiter)."""
    if not settings.WECHAT_TOKEN:
        return None
    store = store or open_store()
    channel = WeChatChannel(
        app.state.rasa,
        app.state.limiter,
        store,
        api or WeChatApi(store),
        Protocol(settings.WECHAT_TOKEN, settings.WECHAT_APP_ID, settings.WECHAT_ENCODING_AES_KEY),
    )
    app.state.wechat = channel
    app.add_api_route(PATH, channel.verify, methods=["GET"], include_in_schema=False)
    app.add_api_route(PATH, channel.receive, methods=["POST"], include_in_schema=False)
    install_log_filter()
    return channel
