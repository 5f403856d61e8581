"""Mask personal numbers — resident ID, mainland mobile and bank-card numbers — in what a resident typed,
before it is forwarded or stored. Standard library only: the gateway, Rasa's REST channel and the action
server all import this one module (bot/web/gateway, bot/rasa_ext/channel.py, kb/queries.py).

Numbers are read the way a person reads them, whatever the characters: full-width and other Unicode digits
(NFKC), separators between groups (spaces, dashes, dots, also full-width, at most MAX_GAP in a row) and
invisible characters anywhere (soft hyphen, zero-width space, U+180E, combining marks ...). A number read so
is a personal number when it is

- a mainland mobile: 11 digits 1[3-9]…, optionally after 86, +86, (+86), 0086 or a trunk 0;
- 15 or more digits: an 18-character ID (last character a digit or X), a 15-digit ID of the old kind, a
  16-19 digit bank card, or a longer run (a card with a digit too many is still a card);
- in a run of 12 to 14 digits, a mobile standing on its own groups, or anywhere in an unbroken run.

Its characters are replaced by the first 3 and last 4 of the number (country code dropped), the rest starred:
139****5678, 320***********123X. Everything else in the text stays exactly as typed, so figures residents
ask about (1428.35万元, 21389人, 2022年, 126095件, 2022-12-31, 0512-52510000) are left alone.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

KEEP_HEAD, KEEP_TAIL = 3, 4
MAX_GAP = 4  # visible separator characters allowed between two groups of one number ("0086 - 138")
ID_LENGTH = 18
LONG = 15  # this many digits or more: an ID, a bank card, or longer — masked whatever it is

_MOBILE = re.compile(r"(?:0086|86|0)?(1[3-9]\d{9})")
_MOBILE_INSIDE = re.compile(r"1[3-9]\d{9}")
# Separators people put between groups of digits, as NFKC reads them (full-width forms become these).
_DASHES = "-‐‑‒–—―−﹣⁃"
_DOTS = ".·・‧•∙"
# Characters nobody sees, wherever they are: format (Cf: soft hyphen, zero-width space/joiners, U+180E,
# bidi controls, BOM), combining marks, and the blank fillers of Hangul and Braille.
_INVISIBLE_CATEGORIES = {"Cf", "Mn", "Me", "Cc"}
_BLANKS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}
_OPENING, _CLOSING = "(（[［", ")）]］"  # around a country code: (+86)


@lru_cache(maxsize=4096)
def _kind(char: str) -> tuple[str, str]:
    """How a character reads inside a number: ("digit", its ASCII digits), ("x", "X"/"x"), ("plus", "+"),
    ("sep", ""), ("invisible", "") or ("other", "")."""
    folded = unicodedata.normalize("NFKC", char)
    if folded and all("0" <= c <= "9" for c in folded):
        return "digit", folded
    if char.isdecimal():  # Arabic-Indic, Devanagari ... digits, which NFKC leaves as they are
        return "digit", str(unicodedata.decimal(char))
    if folded in ("X", "x"):
        return "x", folded
    if folded == "+":
        return "plus", "+"
    if char in _BLANKS or (unicodedata.category(char) in _INVISIBLE_CATEGORIES and not char.isspace()):
        return "invisible", ""
    if folded.isspace() or (folded and all(c in _DASHES or c in _DOTS for c in folded)):
        return "sep", ""
    return "other", ""


def _starred(number: str) -> str:
    return number[:KEEP_HEAD] + "*" * (len(number) - KEEP_HEAD - KEEP_TAIL) + number[-KEEP_TAIL:]


class _Run:
    """A stretch of text that reads as one number: its digits, and where each digit was typed."""

    def __init__(self) -> None:
        self.digits = ""
        self.at: list[int] = []  # for each digit of `digits`, the index of the character that wrote it
        self.group_starts: set[int] = {0}  # indexes into `digits` where a group (after a separator) begins

    def add(self, digits: str, index: int, after_separator: bool) -> None:
        if after_separator and self.digits:
            self.group_starts.add(len(self.digits))
        self.digits += digits
        self.at.extend([index] * len(digits))


def _runs(text: str) -> list[tuple[int, int, _Run]]:
    """Every stretch of the text that reads as one number: (start, end, run), end exclusive."""
    found: list[tuple[int, int, _Run]] = []
    i, n = 0, len(text)
    while i < n:
        kind, digits = _kind(text[i])
        if kind != "digit":
            i += 1
            continue
        run, start, end, gap, j = _Run(), i, i, 0, i
        while j < n:
            kind, digits = _kind(text[j])
            if kind == "digit":
                run.add(digits, j, gap > 0)
                end, gap = j + 1, 0
            elif kind == "x" and len(run.digits) == ID_LENGTH - 1:  # an ID's check character
                run.add(digits, j, gap > 0)
                end = j + 1
                break
            elif kind == "invisible":
                pass
            elif kind == "sep" and gap < MAX_GAP:
                gap += 1
            else:
                break
            j += 1
        found.append((start, end, run))
        i = max(end, i + 1)
    return found


def _plus_before(text: str, start: int) -> int:
    """The start of a number, moved back over a '+' or '(+' (and invisible characters) typed right before it."""
    k = start - 1
    while k >= 0 and _kind(text[k])[0] == "invisible":
        k -= 1
    if k < 0 or _kind(text[k])[0] != "plus":
        return start
    return k - 1 if k > 0 and text[k - 1] in _OPENING else k


def _country_code_before(text: str, start: int) -> int:
    """The start of a mobile, moved back over a country code written apart from it: "(+86) ", "0086 - "."""
    k, gap = start - 1, 0
    while k >= 0 and gap <= 2 * MAX_GAP:
        kind = _kind(text[k])[0]
        if kind == "sep" or text[k] in _CLOSING:
            gap += 1
        elif kind != "invisible":
            break
        k -= 1
    code_end = k + 1
    while k >= 0 and _kind(text[k])[0] in ("digit", "invisible"):
        k -= 1
    if "".join(_kind(c)[1] for c in text[k + 1 : code_end]) not in ("86", "0086"):
        return start
    return _plus_before(text, k + 1)


def _masks(text: str, start: int, end: int, run: _Run) -> list[tuple[int, int, str]]:
    """What to replace in one run: (start, end, replacement) spans of the text."""
    digits = run.digits
    whole = _MOBILE.fullmatch(digits)
    if whole:
        begin = _plus_before(text, start) if len(digits) > 11 else _country_code_before(text, start)
        return [(begin, end, _starred(whole.group(1)))]
    if len(digits) >= LONG:
        return [(start, end, _starred(digits))]
    if len(digits) <= 11:
        return []
    spans = []
    edges = run.group_starts | {len(digits)}
    for found in _MOBILE_INSIDE.finditer(digits):
        a, b = found.span()
        if len(run.group_starts) == 1 or (a in edges and b in edges):
            spans.append((run.at[a], run.at[b - 1] + 1, _starred(found.group(0))))
    return spans


def mask(text: str) -> str:
    """The text with every personal number masked (first 3 and last 4 characters kept); the rest unchanged."""
    if not text or not any(_kind(c)[0] == "digit" for c in text):
        return text
    spans = [span for start, end, run in _runs(text) for span in _masks(text, start, end, run)]
    out, last = [], 0
    for start, end, replacement in sorted(spans):
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def mask_optional(text: str | None) -> str | None:
    """mask() for a value that may be missing."""
    return mask(text) if text else text


def mask_values(value: Any) -> Any:
    """mask() on every text inside a JSON-like value (dicts, lists); other values unchanged."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: mask_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_values(item) for item in value]
    return value
