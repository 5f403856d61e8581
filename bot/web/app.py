"""The one web app: the residents' gateway (`gateway/`) and the staff admin (`admin/`) on one FastAPI app.

`python -m bot.web` (the Procfile's `gateway:` line) serves `create_app()` with uvicorn on ZHITANG_GATEWAY_PORT
(or GATEWAY_PORT). Settings are read when the app is made, so tests patch `bot.settings` and then call
`create_app()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from bot.web import admin, security, wechat
from bot.web.gateway import forget, routes
from bot.web.gateway.rasa_client import RasaClient
from bot.web.gateway.ratelimit import RateLimiter


def create_app(
    rasa: RasaClient | None = None, limiter: RateLimiter | None = None, kb_url: str | None = None
) -> FastAPI:
    """The web app: gateway routes, the admin under /admin (on `kb_url`, else the configured KB), headers."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        purging = forget.start_purging()  # residents' data older than the retention, daily (kb/retention.py)
        yield
        if purging is not None:
            purging.cancel()
        if getattr(app.state, "wechat", None) is not None:
            await app.state.wechat.aclose()
        await app.state.rasa.aclose()

    app = FastAPI(title="Zhitang Assistant", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    routes.install(app, rasa, limiter)
    wechat.mount(app)  # /wechat, the Official Account channel: only when WECHAT_TOKEN is set
    admin.mount(app, kb_url)
    security.install(app)
    return app
