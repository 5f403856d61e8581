"""`python -m bot.gateway`: serve the gateway with uvicorn on settings.GATEWAY_HOST:GATEWAY_PORT."""

from __future__ import annotations

import uvicorn

from bot import settings


def main() -> None:
    """Run uvicorn without its websocket support (nothing here uses it, and rasa-sdk pins websockets<11)."""
    uvicorn.run(
        "bot.gateway.app:app",
        host=settings.GATEWAY_HOST,
        port=settings.GATEWAY_PORT,
        ws="none",
        proxy_headers=True,  # X-Forwarded-For is believed only from FORWARDED_ALLOW_IPS (default 127.0.0.1)
        server_header=False,
    )


if __name__ == "__main__":
    main()
