"""WeChat's push protocol: signatures, safe mode (AES, msg_signature), the message XML and passive replies.

Bodies are read through defusedxml first (no DTD, no entities: a billion-laughs body is refused before any
other parser sees it), then wechatpy decrypts and parses them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply

MAX_BODY_BYTES = 64 * 1024  # WeChat's messages are a few hundred bytes; an encrypted one a little more
ECHOSTR = re.compile(r"[A-Za-z0-9_-]{1,128}")
_ALLOWED_TAGS = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


class ProtocolError(Exception):
    """A request WeChat would not send: an HTTP status (4xx) and a short reason for the log."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def signature(token: str, *parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted, concatenated strings (token, timestamp, nonce[, encrypt])."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode("utf-8")).hexdigest()


def check_signature(token: str, given: str | None, timestamp: str | None, nonce: str | None) -> None:
    """403 unless `given` is the signature of token, timestamp and nonce (compared in constant time)."""
    if not (given and timestamp and nonce):
        raise ProtocolError(403, "missing signature")
    if not hmac.compare_digest(signature(token, timestamp, nonce), given.lower()):
        raise ProtocolError(403, "bad signature")


def check_xml(body: bytes) -> ET.Element:
    """The XML's root, read safely; 400 for anything that is not a plain <xml> document of simple fields."""
    try:
        root = DET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ET.ParseError, ValueError) as err:
        raise ProtocolError(400, f"bad xml: {type(err).__name__}") from err
    if root.tag != "xml" or any(len(child) or not _ALLOWED_TAGS.fullmatch(child.tag) for child in root):
        raise ProtocolError(400, "not a WeChat message")
    return root


@dataclass
class Inbound:
    """A message as pushed, and how to answer it (encrypted when it came encrypted)."""

    message: BaseMessage
    encrypted: bool
    fields: dict[str, str]  # the message's fields as sent (MsgType, Content, Recognition, MsgId, Event ...)


class Protocol:
    """Checks and reads pushes for one account; renders passive replies."""

    def __init__(self, token: str, app_id: str = "", aes_key: str = ""):
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key and app_id else None

    def verify(self, sig: str | None, timestamp: str | None, nonce: str | None, echostr: str | None) -> str:
        """GET /wechat, the console's server check: the echostr, when the signature is right."""
        check_signature(self.token, sig, timestamp, nonce)
        if not echostr or not ECHOSTR.fullmatch(echostr):
            raise ProtocolError(400, "bad echostr")
        return echostr

    def read(self, body: bytes, query: dict[str, str]) -> Inbound:
        """A pushed message: signature checked, decrypted in safe mode, parsed. ProtocolError (4xx) otherwise."""
        check_signature(self.token, query.get("signature"), query.get("timestamp"), query.get("nonce"))
        root = check_xml(body)
        encrypted = query.get("encrypt_type", "raw").lower() == "aes"
        if encrypted:
            if self.crypto is None:
                raise ProtocolError(400, "safe mode is not configured (WECHAT_ENCODING_AES_KEY, WECHAT_APP_ID)")
            try:
                plain = self.crypto.decrypt_message(
                    body, query.get("msg_signature", ""), query.get("timestamp"), query.get("nonce")
                )
            except (InvalidSignatureException, InvalidAppIdException) as err:
                raise ProtocolError(403, f"bad msg_signature or AppID: {type(err).__name__}") from err
            except Exception as err:  # wechatpy's decryption: bad base64, padding, key, missing <Encrypt>
                raise ProtocolError(400, f"cannot decrypt: {type(err).__name__}") from err
            body = plain.encode("utf-8") if isinstance(plain, str) else plain
            root = check_xml(body)
        try:
            message = parse_message(body)
        except Exception as err:  # a field missing or of the wrong kind
            raise ProtocolError(400, f"bad message: {type(err).__name__}") from err
        if message is None or not getattr(message, "source", None):
            raise ProtocolError(400, "no FromUserName")
        fields = {child.tag: (child.text or "").strip() for child in root}
        return Inbound(message, encrypted, fields)

    def reply(self, inbound: Inbound, content: str, nonce: str | None = None) -> str:
        """The passive text reply's XML, encrypted (and signed) when the message came encrypted."""
        xml = TextReply(message=inbound.message, content=content).render()
        if inbound.encrypted and self.crypto is not None:
            return self.crypto.encrypt_message(xml, nonce or secrets.token_hex(8), str(int(time.time())))
        return xml
