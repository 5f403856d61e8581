"""Text helpers shared by the KB, the search and the actions: language, simplification, tokens."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import jieba
import Stemmer
import zhconv

jieba.setLogLevel(60)
_STEM = Stemmer.Stemmer("english")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")

# Words that carry no topic: question words, particles, the town's own name.
STOPWORDS_ZH = set(
    "的 了 吗 呢 啊 哦 呀 吧 么 嘛 是 有 在 和 与 及 我 你 他 她 们 我们 你们 这 那 这个 那个 就 都 也 还 "
    "请问 请 问 一下 想 想问 知道 告诉 能 能不能 可以 可不可以 会 要 什么 啥 怎么 怎么样 怎样 如何 多少 几 "
    "哪 哪里 哪儿 哪些 为什么 一 个 吗? 年 去年 今年 镇 镇里 支塘 支塘镇 全镇 镇上 我们镇 咱们 咱 "
    "情况 一共 总共 现在 给 让 被 把 对 从 到 为 等 各类 各种 工作 开展 进行 完成 实现 推进 深入 持续 "
    "全年 累计 达 达到 共 约 余 多 情况 准备 需要 吧? ? ! , 。 ， ？ ！ 、 ： ； “ ” ‘ ’ （ ） ( )".split()
)
# A year carries no topic either: the answers choose the year (actions/years.py), the search the service.
_A_YEAR = re.compile(r"(?:19|20)\d\d")
# Characters of the question frame; a bigram holding one is noise, not topic.
FUNCTION_CHARS = set(
    "的了吗呢啊哦呀吧么嘛啥是有在和与我你他她们这那就都也还请问想能会要什么怎样几哪为谁给让被把对从到个一下"
)
STOPWORDS_EN = set(
    "a an the of to in on at for and or is are was were be been do does did how what which who whom "
    "where when why can could would should will i me my we our you your it its this that there these "
    "those much many please tell about any some with by from get got have has had zhitang town "
    "year last s know want like need he him his she her they them their us so just now then also very "
    "really still yet love would'd i'd i'm it's that's am let lets okay ok thanks thank hi hello dear "
    "anyone anything someone something one "
    # comparisons, emphasis and "per" ("more than Dongbang", "actually broke out", "per child") name no service,
    # and a fact's "more than 150" or "per cubic metre" made them match the wrong one
    "more than less fewer actually actual truly exactly per".split()
)


def clean(text: str) -> str:
    """Normalise Unicode (NFKC), drop control characters and collapse whitespace."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _CONTROL.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def has_cjk(text: str) -> bool:
    """True when the text holds at least one Chinese character."""
    return bool(_CJK.search(text or ""))


def to_simplified(text: str) -> str:
    """Traditional to simplified Chinese (no-op on text without Chinese)."""
    return zhconv.convert(text, "zh-cn") if has_cjk(text) else text


def normalize(text: str) -> str:
    """Cleaned, simplified, lower-cased text used for matching."""
    return to_simplified(clean(text)).lower()


class Segmenter:
    """Jieba word segmentation with the KB's own terms, private to one search index.

    Each index gets its own `jieba.Tokenizer`, so building an index never changes jieba's process-wide
    dictionary, and the names of retired entries leave with the index that held them. The base dictionary
    is loaded once per process and copied (about 30 ms), not read again.

    The KB's terms are added as jieba.add_word does, except that the dictionary's total frequency stays the
    base dictionary's: so how a text is cut depends only on the terms that occur in it (jieba looks up the
    text's own substrings, weighed against the total), and an index refreshed after a staff edit can keep the
    tokens of every text that holds none of the terms the edit added or removed (kb/token_memo.py).
    """

    _base: jieba.Tokenizer | None = None
    TERM_FREQ = 2000  # a KB term outweighs jieba's own splits of it

    def __init__(self, words: Iterable[str] = ()):
        self._jieba = jieba.Tokenizer()
        base = Segmenter._base_tokenizer()
        self._jieba.FREQ, self._jieba.total = dict(base.FREQ), base.total
        self._jieba.initialized = True
        self.terms = frozenset(w for w in map(normalize, words) if has_cjk(w) and len(w) > 1)
        freq = self._jieba.FREQ
        for word in self.terms:
            freq[word] = self.TERM_FREQ
            for end in range(1, len(word)):  # prefixes, as add_word records them, so the word is found
                freq.setdefault(word[:end], 0)
        self.cut = lru_cache(maxsize=4096)(self._cut)

    @classmethod
    def _base_tokenizer(cls) -> jieba.Tokenizer:
        if cls._base is None:
            base = jieba.Tokenizer()
            base.initialize()
            cls._base = base
        return cls._base

    def knows(self, word: str) -> bool:
        """True for a word of the dictionary (jieba's own words and this segmenter's KB terms)."""
        return bool(self._jieba.FREQ.get(word))

    def _cut(self, text: str) -> tuple[str, ...]:
        return tuple(self._jieba.lcut(text))


_PLAIN: Segmenter | None = None


def plain_segmenter() -> Segmenter:
    """A segmenter with jieba's own dictionary only (for text that no index is at hand for)."""
    global _PLAIN
    if _PLAIN is None:
        _PLAIN = Segmenter()
    return _PLAIN


def tokens(text: str, segmenter: Segmenter | None = None) -> list[str]:
    """Search tokens: jieba words, Chinese characters and bigrams, stemmed English words, no stopwords.

    Characters and bigrams make the match robust to segmentation differences and typos.
    """
    text = normalize(text)
    out: list[str] = []
    for piece in (segmenter or plain_segmenter()).cut(text):
        piece = piece.strip()
        if not piece:
            continue
        if has_cjk(piece):
            if piece not in STOPWORDS_ZH and not _A_YEAR.fullmatch(piece):
                out.append(piece)
        else:
            out.extend(
                _STEM.stemWord(w) for w in _WORD.findall(piece) if w not in STOPWORDS_EN and not _A_YEAR.fullmatch(w)
            )
    for run in re.findall(r"[\u3400-\u9fff]+", text):
        out.extend(c for c in run if c not in FUNCTION_CHARS and c not in STOPWORDS_ZH)
        out.extend(
            run[i : i + 2]
            for i in range(len(run) - 1)
            if run[i] not in FUNCTION_CHARS and run[i + 1] not in FUNCTION_CHARS and run[i : i + 2] not in STOPWORDS_ZH
        )
    return out
