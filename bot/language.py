"""The one rule for the language of a message, used by Rasa's NLU (the `language` slot), the actions, the web
gateway's own messages and the staff admin.

Standard library only: Rasa's process (.venv-rasa) and the app's (.venv) both import it.

The rule, in order:
1. A request for a language ("in English please", "请用中文回答") sets that language.
2. A button or widget payload ("/greet") carries the language the resident chose in the widget.
3. Otherwise the text decides: toneless pinyin ("yi bao zen me bao xiao") is Chinese; else Chinese unless, once the KB's own Chinese names are cut out, English words
   outnumber the Chinese characters left ("What is 跨村通办?" is English; "医保 reimbursement 多少钱" Chinese).
4. A text with neither (emoji, digits, punctuation) says nothing: the conversation keeps its language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from bot.pinyin import is_pinyin_text

LANGS = ("zh", "en")
DEFAULT = "zh"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[a-z]{2,}")
_LATIN = re.compile(r"[a-z]")

# Requests to switch, checked on the NFKC-normalised, lower-cased text. Naming a language is not enough
# ("英文名字叫什么" is a question): the request verbs or "in English" must be there.
_REQUESTS = {
    "en": re.compile(
        r"(?:in|into|to) english\b|english,? (?:please|pls|plz)|(?:please|can you|could you) speak english|switch to english"
        r"|(?:用|说|讲|换成|切换到|改成|改用|翻译成)\s*(?:英文|英语)|(?:英文|英语)\s*(?:再|重新|给我|帮我)?\s*(?:说|讲|回答|回复|版|翻译|来一遍)"
        r"|\b(?:in|answer|reply|respond)\s*(?:英文|英语)"
    ),
    "zh": re.compile(
        r"(?:in|into|to) (?:chinese|mandarin)\b|(?:chinese|mandarin),? please|(?:please|can you|could you) speak (?:chinese|mandarin)"
        r"|switch to (?:chinese|mandarin)|(?:用|说|讲|换成|切换到|改成|改用|翻译成)\s*(?:中文|汉语|普通话)"
        r"|(?:中文|汉语|普通话)\s*(?:再|重新|给我|帮我)?\s*(?:说|讲|回答|回复|版|翻译|来一遍)|\b(?:in|answer|reply|respond)\s*(?:中文|汉语|普通话)"
    ),
}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def has_cjk(text: str | None) -> bool:
    """True when the text holds at least one Chinese character."""
    return bool(_CJK.search(text or ""))


_BARE = {
    "en": re.compile(r"^\W*(in )?(english|英文|英语)\W*(pls|please|plz|吧|呢|啊|可以吗|行吗)?\W*$"),
    "zh": re.compile(r"^\W*(in )?(chinese|mandarin|中文|汉语|普通话)\W*(pls|please|plz|吧|呢|啊|可以吗|行吗)?\W*$"),
}


def requested_language(text: str | None) -> str | None:
    """The language a message asks the bot to use ("英文说一下", "English pls" -> en), or None."""
    folded = _fold(text or "")
    bare = [lang for lang, pattern in _BARE.items() if pattern.match(folded)]
    if bare:
        return bare[0]
    found = [lang for lang, pattern in _REQUESTS.items() if pattern.search(folded)]
    return found[0] if len(found) == 1 else None


def without_language_request(text: str | None) -> str:
    """The message with its request for a language cut out ("英文说一下尊老金" -> "一下尊老金")."""
    folded = _fold(text or "")
    for pattern in _REQUESTS.values():
        folded = pattern.sub(" ", folded)
    return folded


def text_language(text: str | None, names: Iterable[str] = ()) -> str | None:
    """zh or en by what the text is written in (rule 3); None for a text with neither Chinese nor English.

    `names` are the KB's Chinese names (尊老金, 跨村通办 …): an English sentence that names a service in
    Chinese is still English.
    """
    folded = _fold(text or "")
    words = len(_WORD.findall(folded))
    if not has_cjk(folded):
        if is_pinyin_text(folded):
            return "zh"  # "zunlaojin fa le duoshao": Chinese typed without characters
        return "en" if words or _LATIN.search(folded) else None
    if not words or is_pinyin_text(_CJK.sub(" ", folded)):
        return "zh"  # Chinese, maybe with pinyin for the words the resident could not type
    for name in _chinese_names(tuple(names)):
        folded = folded.replace(name, " ")
    return "zh" if len(_CJK.findall(folded)) >= words else "en"


@lru_cache(maxsize=8)
def _chinese_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """The Chinese names among `names`, folded, longest first: made once per list of names (the tokenizer
    passes the same KB names with every message)."""
    return tuple(name for name in sorted({_fold(n) for n in names if n}, key=len, reverse=True) if has_cjk(name))


def is_payload(text: str | None) -> bool:
    """A button or widget payload ("/ask_elder_allowance"), not typed text."""
    return (text or "").lstrip().startswith("/")


def message_language(text: str | None, chosen: str | None = None, names: Iterable[str] = ()) -> str | None:
    """The language this message sets for the conversation, or None to keep the conversation's (rules 1-4).

    `chosen` is the language the resident picked in the widget (message metadata); it counts for payloads.
    """
    if is_payload(text):
        return chosen if chosen in LANGS else None
    return requested_language(text) or text_language(text, names)


def accept_language(header: str | None) -> str | None:
    """The first of zh/en named in an Accept-Language header, by quality."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else None


def reply_language(
    text: object = None, chosen: object = None, previous: object = None, header: str | None = None
) -> str:
    """The language to reply in when there is no conversation slot to read (the gateway's own messages).

    This message's language (rules 1-3), else the conversation's previous one, else the widget's choice,
    else Accept-Language, else Chinese.
    """
    found = message_language(text, chosen if isinstance(chosen, str) else None) if isinstance(text, str) else None
    for candidate in (found, previous, chosen):
        if isinstance(candidate, str) and candidate in LANGS:
            return candidate
    return accept_language(header) or DEFAULT
