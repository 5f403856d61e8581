"""`python -m bot.web`: serve the web app with uvicorn on settings.GATEWAY_HOST:GATEWAY_PORT."""

from __future__ import annotations

import logging
import os

import uvicorn

from bot import settings

logger = logging.getLogger(__name__)


def main() -> None:
    """Run uvicorn without its websocket support (nothing here uses it, and rasa-sdk pins websockets<11)."""
    os.umask(0o077)  # what the app writes under var/ (SQLite KB, the admin's key) is its owner's only
    if os.environ.get("FORWARDED_ALLOW_IPS") and not settings.TRUSTED_PROXIES:
        logger.warning("FORWARDED_ALLOW_IPS is not read: name the reverse proxies in ZHITANG_TRUSTED_PROXIES")
    uvicorn.run(
        "bot.web.app:create_app",
        factory=True,
        host=settings.GATEWAY_HOST,
        port=settings.GATEWAY_PORT,
        ws="none",
        # X-Forwarded-For/-Proto are believed only from ZHITANG_TRUSTED_PROXIES (addresses or networks; none by
        # default, whatever uvicorn's own FORWARDED_ALLOW_IPS says), the list the app's address logic uses too.
        proxy_headers=bool(settings.TRUSTED_PROXIES),
        forwarded_allow_ips=list(settings.TRUSTED_PROXIES),
        server_header=False,
    )


if __name__ == "__main__":
    main()
