"""Toneless pinyin typed with Latin letters ("zunlaojin", "yi bao", "kua cun tong ban"): telling it from
English, and cutting it into syllables.

Standard library only, so Rasa's process (.venv-rasa) and the app's (.venv) share it. Characters are turned
into pinyin with pypinyin, on the app side only (kb.search); here we only read what residents typed.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Every toneless syllable of Mandarin (pypinyin's NORMAL style over CJK Unified Ideographs, "ü" as "v",
# without the interjections hm, m, n and the rare fiao).
SYLLABLES = frozenset(
    """a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce
    cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci
    cong cou cu cuan cui cun cuo da dai dan dang dao de den deng di dian diao die ding diu dong dou du duan dui
    dun duo e ei en eng er fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu
    gua guai guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun
    huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke ken keng kong kou
    ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu
    lo long lou lu luan lun luo lv lve ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou
    mu na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o
    ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing
    qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao
    se sen seng sha shai shan shang shao she shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si
    song sou su suan sui sun suo ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo
    wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang
    yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao
    zhe zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo""".split()
)
_LONGEST = max(len(s) for s in SYLLABLES)

# English words that are also pinyin syllables or are common in English questions: a sentence with them is
# read as English ("What is kua cun tong ban?" is English that names a service in pinyin).
ENGLISH = frozenset(
    """a an the he she me we us you your my mine i is are am was were be been to in on of at for and or but
    not no yes it its this that these those what who whom how why when where which can could do does did have
    has had will would shall should may might must please thanks thank hi hello hey ok okay sorry english
    chinese mandarin about with from by as so if then than there here get got much many any some all one two
    old new""".split()
)
_WORD = re.compile(r"[a-z]+|\d+")


@lru_cache(maxsize=8192)
def syllables(word: str) -> tuple[str, ...] | None:
    """A Latin word cut into the fewest pinyin syllables ("zunlaojin" -> zun lao jin), or None if it cannot be.

    Apostrophes separate syllables as in standard pinyin ("xi'an"); a word with any other letter run that is
    no syllable is not pinyin.
    """
    word = word.lower()
    if not word.isascii() or not word.isalpha():
        return None
    best: list[tuple[str, ...] | None] = [None] * (len(word) + 1)
    best[0] = ()
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - _LONGEST), end):
            head = best[start]
            piece = word[start:end]
            if head is not None and piece in SYLLABLES:
                candidate = (*head, piece)
                if best[end] is None or len(candidate) < len(best[end]):  # type: ignore[arg-type]
                    best[end] = candidate
    return best[len(word)]


def latin_words(text: str) -> list[str]:
    """The Latin words (and digit runs) of a text, lower-cased, apostrophes splitting syllables."""
    return _WORD.findall(text.lower().replace("'", " ").replace("’", " "))


def is_pinyin_text(text: str) -> bool:
    """True when the Latin words of a text are pinyin rather than English.

    Every word must be pinyin and none a common English word, or, in a longer run, at most one may be, or a
    few that are pinyin syllables too ("he", "me": at most one word in four, none that is not pinyin); and the
    run must hold more than one syllable ("ban" alone is read as English).
    """
    words = [w for w in latin_words(text) if not w.isdigit()]
    if not words:
        return False
    english = [w for w in words if w in ENGLISH or syllables(w) is None]
    pinyin = [w for w in words if w not in english]
    count = sum(len(syllables(w) or ()) for w in pinyin)
    if not pinyin or count < 2:
        return False
    also_pinyin = [w for w in english if syllables(w) is not None]  # "he", "me", "an"
    return (
        not english
        or (len(english) == 1 and len(pinyin) >= 4)
        or (len(also_pinyin) == len(english) and 4 * len(english) <= len(words))
    )
