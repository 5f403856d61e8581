"""The action server (rasa_sdk) that serves only Rasa: every request but /health needs the shared secret.

`python -m bot.ops.action_server --actions actions --port 5055` takes rasa_sdk's own arguments; what it adds is
a check of `Authorization: Bearer <secret>`, the header Rasa sends from endpoints.yml (action_endpoint.headers).
The secret is ZHITANG_ACTION_SECRET, else the one generated once into $ZHITANG_VAR_DIR/action-secret.key (see
bot.ops.secrets). A webhook without it gets 401 and runs nothing: nobody else on the host or network can make
an action write to the KB (the unanswered queue, feedback) or read answers for a forged conversation.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable
from typing import Any

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser, create_ssl_context
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.ops.secrets import action_secret

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})  # probes hold no secret


def authorized(header: str | None, secret: str) -> bool:
    """True when the Authorization header is `Bearer <secret>` (compared in constant time)."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), secret.encode())


def require_secret(app: Sanic, secret: str) -> Sanic:
    """Refuse (401) every request to `app` but the health check that lacks the secret."""
    if not secret:
        raise ValueError("the action server needs a non-empty secret")

    async def check(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or authorized(request.headers.get("authorization"), secret):
            return None
        logger.warning("refused %s %s from %s: no valid action secret", request.method, request.path, request.ip)
        return response.json(
            {"error": "this action server serves only the assistant's Rasa (missing or wrong secret)"},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    app.register_middleware(check, "request")
    return app


def serve(args: Any, secret: str, run: Callable[..., None] | None = None) -> None:
    """rasa_sdk.endpoint.run with the secret check (the same app, plugins, SSL and workers)."""
    app = require_secret(create_app(args.actions, cors_origins=args.cors, auto_reload=args.auto_reload), secret)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = os.environ.get("SANIC_HOST", "0.0.0.0")
    logger.info("Action endpoint (secret required) on %s://%s:%s", "https" if ssl_context else "http", host, args.port)
    (run or app.run)(host, args.port, ssl=ssl_context, workers=utils.number_of_sanic_workers())


def main(argv: list[str] | None = None) -> None:
    """Parse rasa_sdk's arguments, set up its logging, serve."""
    os.umask(0o077)
    args = create_argument_parser().parse_args(argv)
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel, args.logging_config_file
    )
    utils.update_sanic_log_level()
    serve(args, action_secret())


if __name__ == "__main__":
    main()
