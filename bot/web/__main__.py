"""`python -m bot.web`: serve the web app with uvicorn on settings.GATEWAY_HOST:GATEWAY_PORT."""

from __future__ import annotations

import uvicorn

from bot import settings


def main() -> None:
    """Run uvicorn without its websocket support (nothing here uses it, and rasa-sdk pins websockets<11)."""
    uvicorn.run(
        "bot.web.app:create_app",
        factory=True,
        host=settings.GATEWAY_HOST,
        port=settings.GATEWAY_PORT,
        ws="none",
        proxy_headers=True,  # X-Forwarded-For is believed only from FORWARDED_ALLOW_IPS (default 127.0.0.1)
        server_header=False,
    )


if __name__ == "__main__":
    main()
