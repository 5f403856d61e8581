"""Mask Chinese ID numbers, mainland mobile numbers and bank-card numbers before text is forwarded or stored."""

from __future__ import annotations

import re

_SEP = r"[ \-]?"
# 18-character resident ID (6-digit area, 8-digit birth date, 3 digits, check digit or X), optionally grouped.
ID_NUMBER = re.compile(rf"(?<!\d)\d{{6}}{_SEP}\d{{8}}{_SEP}\d{{3}}[0-9Xx](?!\d)")
# 16-19 digit bank card, plain or in groups of four.
BANK_CARD = re.compile(rf"(?<!\d)\d{{4}}(?:{_SEP}\d{{4}}){{3}}(?:{_SEP}\d{{1,3}})?(?!\d)")
# Mainland mobile, with an optional +86/86 prefix, plain or grouped 3-4-4.
MOBILE = re.compile(rf"(?<!\d)(?:\+?86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}(?!\d)")

KEEP_HEAD, KEEP_TAIL = 3, 4


def _mask_digits(found: re.Match[str]) -> str:
    chars = re.sub(r"[^0-9Xx]", "", found.group(0))
    if found.re is MOBILE and len(chars) > 11:
        chars = chars[-11:]  # drop the country code
    return chars[:KEEP_HEAD] + "*" * (len(chars) - KEEP_HEAD - KEEP_TAIL) + chars[-KEEP_TAIL:]


def mask(text: str) -> str:
    """The text with ID, bank-card and mobile numbers masked (first 3 and last 4 characters kept)."""
    for pattern in (ID_NUMBER, BANK_CARD, MOBILE):
        text = pattern.sub(_mask_digits, text)
    return text


def mask_optional(text: str | None) -> str | None:
    """mask() for a value that may be missing."""
    return mask(text) if text else text
