"""One OpenID, one Rasa conversation: the conversation id is a keyed hash of the OpenID, never the OpenID.

The key is ZHITANG_WECHAT_ID_SECRET, else a random one generated once into $ZHITANG_VAR_DIR/wechat-id.key
(mode 0600, as bot/ops/secrets.py makes the action server's). Without the key the id cannot be traced back to
the OpenID, even by someone who has every OpenID of the account; every gateway replica needs the same key.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from pathlib import Path

from bot import settings
from bot.ops.secrets import secret_file

ID_SECRET_FILE = "wechat-id.key"
PREFIX = "wx-"  # the widget's sessions are hex: a WeChat conversation is told apart at a glance


@lru_cache(maxsize=4)
def _key(secret: str, var_dir: str) -> bytes:
    return (secret or secret_file(Path(var_dir) / ID_SECRET_FILE)).encode("utf-8")


def id_key() -> bytes:
    """The HMAC key (the setting, else the generated file)."""
    return _key(settings.WECHAT_ID_SECRET, str(settings.VAR_DIR))


def sender_id(openid: str) -> str:
    """The Rasa sender id of an OpenID: wx- and 40 hex digits of HMAC-SHA256."""
    digest = hmac.new(id_key(), openid.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:40]
