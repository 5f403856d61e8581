"""How a question becomes an answer: which entry, which fact or staff field, in which language.

Pure functions over the KB snapshot, so they are tested without Rasa.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from actions.i18n import BUTTONS, FIELD_NAMES, REPORT_NAME, t
from bot import settings
from kb.search import KnowledgeIndex
from kb.text import has_cjk, normalize, tokens

# Words that ask for a staff-only field rather than a figure.
FIELD_PATTERNS = {
    # "电话咨询" / "phone consultations" are services, not a request for a number.
    "phone": r"电话(?!咨询)|号码|联系方式|热线|打给|打什么|phone(?! consult)|telephone(?! consult)|hotline|"
    r"contact number|number to call|(who|what number) (do|can|should) i call",
    "address": r"地址|在哪|哪里|在什么地方|怎么走|怎么去|位置|哪儿|address|where|location|located|directions|"
    r"how (do|can) i get to|how to get (to|there)",
    "hours": r"几点|办公时间|开放时间|上班时间|营业时间|工作时间|开门|关门|营业|工作日|周末|什么时候开|"
    r"opening hours|office hours|hours|what time|when (is|are) .*open|open on|closed on",
    "documents": r"材料|证件|带什么|需要带|资料|身份证|户口本|documents?|papers|bring|certificate|paperwork",
    "how_to_apply": r"怎么申请|如何申请|怎么办理|如何办理|怎么领|怎么报名|如何报名|在哪申请|去哪办|申请流程|手续|流程|"
    r"how (do|can|to) (i |we )?(apply|register|sign up|join|enrol|enroll)|apply|application|sign up",
    "eligibility": r"多少岁|几岁|年龄|岁以上|条件|资格|符合|每个月|一个月|每月|每人|每年能|一年要交|要交多少|交多少|能拿多少|能领多少|收多少|"
    r"可以领多少|标准是|收费|费用|门票|要钱吗|免费吗|谁可以|哪些人可以|what age|how old|age limit|eligib|qualif|"
    r"per month|per person|per year|each month|each person|how much (do|will|can) i|fee|price|ticket|charge|who can",
    "link": r"网址|链接|网站|网上办|小程序|公众号|website|link|url|online",
    "office": r"哪个部门|什么部门|哪个单位|负责部门|which (office|department)|office in charge|department",
}
_FIELD_RE = {name: re.compile(p, re.I) for name, p in FIELD_PATTERNS.items()}

FACETS = {
    "amount": r"多少钱|金额|钱|资金|经费|补贴|款|万元|花了|花费|投入|出资|实付|how much|amount|money|cost|spent|paid|pay|fund|yuan|rmb",
    "count": r"多少人|多少位|多少名|多少户|多少家|多少个|多少次|几个|几家|几处|几次|人次|数量|多少件|多少条|多少批|"
    r"how many|number of|count|people|persons|households|times|cases",
    "rate": r"率|比例|百分|%|浓度|达标|rate|percent|ratio|proportion|concentration|level",
}
_FACET_RE = {name: re.compile(p, re.I) for name, p in FACETS.items()}

# The unit a "how many" question counts in, matched against the unit of a fact's figure.
_UNIT_ZH = re.compile(r"(?:多少|几)(人次|人|位|名|户|家|次|件|条|批|处|台|个|小时|场|天|项|万元|元|钱)")
_UNIT_EN = {
    "人": r"people|persons|residents|seniors|elderly|old people|women|men|children|kids|students|visitors|participants|"
    r"beneficiaries|recipients|patients",
    "户": r"households|families|homes",
    "家": r"companies|enterprises|firms|businesses|organisations|organizations|units|institutions",
    "件": r"cases|disputes|matters|applications|items|requests|letters|complaints",
    "次": r"times|sessions|lectures|talks|events|visits|inspections",
    "小时": r"hours",
    "处": r"centres|centers|sites|places|locations",
}
_UNIT_EN_RE = {unit: re.compile(rf"how many (?:\w+ ){{0,2}}(?:{words})\b", re.I) for unit, words in _UNIT_EN.items()}
_GENERIC_EN = {"about", "what", "and", "then", "total", "figur", "number", "ok", "okay", "also", "there"}
_UNIT_ALIASES = {"位": "人", "名": "人", "钱": "元", "场": "次"}


@dataclass
class Reply:
    """What the bot says: text, buttons, the source shown on request, and what it was about."""

    text: str
    kind: str  # answer | field | field_unknown | did_you_mean | sentence | dont_know
    buttons: list[dict[str, str]] = field(default_factory=list)
    entry_id: str | None = None
    fact_key: str | None = None
    source: dict[str, Any] | None = None


def detect_language(text: str, index: KnowledgeIndex | None = None) -> str:
    """Language of a message: Chinese unless, once the KB's own names are removed, English words outnumber
    the Chinese characters left.

    "What is 跨村通办?" is English with a Chinese name in it; "医保 reimbursement 多少钱" is Chinese.
    """
    text = normalize(text)
    if not has_cjk(text):
        return "en"
    words = len(re.findall(r"[a-z]{2,}", text))
    if not words:
        return "zh"
    if index is not None:
        text = index.without_names(text)
    chinese = len(re.findall(r"[\u3400-\u9fff]", text))
    return "zh" if chinese >= words else "en"


def asked_field(question: str) -> str | None:
    """The staff-only field a question asks for (phone, address, hours …), if any."""
    text = normalize(question)
    for name, pattern in _FIELD_RE.items():
        if pattern.search(text):
            return name
    return None


def asked_facet(question: str) -> str | None:
    """Whether a question asks for an amount of money, a count or a rate."""
    text = normalize(question)
    for name in ("rate", "amount", "count"):
        if _FACET_RE[name].search(text):
            return name
    return None


def asked_unit(question: str) -> str | None:
    """The unit a question counts in (人, 户, 家, 件, 次 …), if it says."""
    text = normalize(question)
    found = _UNIT_ZH.search(text)
    if found:
        return _UNIT_ALIASES.get(found.group(1), found.group(1))
    return next((unit for unit, pattern in _UNIT_EN_RE.items() if pattern.search(text)), None)


def strip_field_words(question: str) -> str:
    """The question without the words that ask for a field, so the search sees only the topic."""
    text = normalize(question)
    for pattern in _FIELD_RE.values():
        text = pattern.sub(" ", text)
    return text


def is_topicless(question: str) -> bool:
    """True for a question with no subject of its own ("实付金额呢?", "what about the amount?")."""
    text = strip_field_words(question)
    for pattern in (*_FACET_RE.values(), _UNIT_ZH, *_UNIT_EN_RE.values()):
        text = pattern.sub(" ", text)
    words = [w for w in tokens(text) if not (has_cjk(w) and len(w) == 1) and w not in _GENERIC_EN]
    return not words


def _keyword_in(word: str, text: str) -> bool:
    word = normalize(word)
    if not word:
        return False
    return word in text if has_cjk(word) else re.search(rf"\b{re.escape(word)}", text) is not None


def mentions_a_fact(entry: dict[str, Any], question: str) -> bool:
    """True when the question uses a keyword of one of the entry's facts ("社会化运作" for day care)."""
    text = normalize(question)
    return any(
        _keyword_in(w, text) for f in entry["facts"] for w in f["keywords"]["zh"] + f["keywords"]["en"] if len(w) > 1
    )


def choose_entry(
    question: str,
    index: KnowledgeIndex,
    intent: str | None,
    confidence: float,
    ranking: list[dict[str, Any]],
    topic: str | None,
) -> tuple[str | None, float, list[str]]:
    """The entry a question is about, a 0..1 confidence, and runner-up entries.

    Combines the NLU intent ranking, entry names found in the text, the BM25 search and, for a
    follow-up without a topic of its own, the previous topic.
    """
    known = {e["id"] for e in index.entries}
    scores: dict[str, float] = {}

    def add(eid: str | None, value: float) -> None:
        if eid in known:
            scores[eid] = scores.get(eid, 0.0) + value

    for item in ranking[:5]:
        name = item.get("name") or ""
        if name.startswith("ask_") and name != "ask_followup":
            add(name[4:], float(item.get("confidence") or 0.0))
    if intent and intent.startswith("ask_") and not ranking:
        add(intent[4:], confidence)
    named = index.named(question)
    for rank, (eid, specific) in enumerate(named[:3]):
        add(eid, (0.6 if rank == 0 else 0.3) if specific else 0.25)
    hits = index.search_entries(strip_field_words(question), k=3)
    for hit in hits:
        add(hit.key, 0.6 * hit.coverage)
    if topic in known and not any(specific for _, specific in named):
        # The previous topic is the likeliest subject of a question that names no service.
        if is_topicless(question):
            add(topic, 1.0)
        elif intent == "ask_followup" or mentions_a_fact(next(e for e in index.entries if e["id"] == topic), question):
            add(topic, 0.5)
        else:
            add(topic, 0.25)
        if hits and hits[0].key == topic:
            add(topic, 0.25)
    if not scores:
        return None, 0.0, []
    ranked = sorted(scores, key=lambda eid: -scores[eid])
    return ranked[0], min(scores[ranked[0]], 1.0), ranked[1:4]


def choose_fact(entry: dict[str, Any], question: str, lang: str) -> dict[str, Any] | None:
    """The fact of an entry that best answers the question (its first fact by default)."""
    facts = entry["facts"]
    if not facts:
        return None
    text = normalize(question)
    facet = asked_facet(question)
    unit = asked_unit(question)

    def score(item: tuple[int, dict[str, Any]]) -> tuple[float, int]:
        position, fact = item
        value = 0.0
        if facet and fact["kind"] == facet:
            value += 2.0
        if unit and unit in (fact.get("figure") or ""):
            value += 3.0
        for word in fact["keywords"]["zh"] + fact["keywords"]["en"]:
            if _keyword_in(word, text):
                value += 1.0 + 0.1 * len(word)
        return value, -position

    return max(enumerate(facts), key=score)[1]


def _staff_note(fact: dict[str, Any], lang: str) -> str:
    if fact.get("source") == "staff":
        return " " + t("staff_fact", lang, date=str(fact.get("created_at", ""))[:10] or "-")
    return ""


def _with_year(text: str, lang: str) -> str:
    """Make sure a report answer says which year its figure is from (staff facts say their own)."""
    if re.search(r"20\d\d", text):
        return text
    return f"2022年：{text}" if lang == "zh" else f"In 2022: {text}"


def source_of(entry: dict[str, Any], fact: dict[str, Any] | None) -> dict[str, Any]:
    """The citation of an answer: the report quote and sentence, or the staff member who added it."""
    if fact and fact.get("source") == "staff":
        return {"type": "staff", "entry": entry["id"], "fact": fact["key"], "who": fact.get("created_by")}
    return {
        "type": "report",
        "entry": entry["id"],
        "fact": fact["key"] if fact else None,
        "report": REPORT_NAME,
        "quote": fact.get("quote") if fact else None,
        "sentence": fact.get("sentence") if fact else None,
    }


def buttons_for(entry: dict[str, Any], lang: str, entries: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """Next steps after an answer: the source, related services, a person."""
    buttons = [{"title": BUTTONS["source"][lang], "payload": "/show_source"}]
    for rid in entry.get("related", [])[:2]:
        if rid in entries:
            buttons.append({"title": entries[rid]["title"][lang], "payload": f"/ask_{rid}"})
    buttons.append({"title": BUTTONS["human"][lang], "payload": "/request_human"})
    return buttons


def answer_entry(
    entry: dict[str, Any],
    question: str,
    lang: str,
    entries: dict[str, dict[str, Any]],
    centre_id: str = "service_centre",
) -> Reply:
    """The answer about one entry: the fact asked for, or the staff field asked for, or an honest gap."""
    title = entry["title"][lang]
    buttons = buttons_for(entry, lang, entries)
    fact = choose_fact(entry, question, lang)
    wanted = asked_field(question)
    if wanted:
        value = staff_value(entry, wanted, lang)
        if value:
            text = t(
                "staff_value",
                lang,
                title=title,
                field=FIELD_NAMES[wanted][lang],
                value=value,
                date=str(entry.get("updated_at", ""))[:10] or "-",
            )
            return Reply(
                text,
                "field",
                buttons,
                entry["id"],
                fact["key"] if fact else None,
                {"type": "staff", "entry": entry["id"], "field": wanted},
            )
        parts = [t("field_unknown", lang, title=title, field=FIELD_NAMES[wanted][lang])]
        centre = entries.get(centre_id)
        if centre and centre["id"] != entry["id"]:
            for name in (wanted, "phone", "address", "hours"):
                contact = staff_value(centre, name, lang)
                if contact:
                    parts.append(t("centre_contact", lang, field=FIELD_NAMES[name][lang], value=contact))
                    break
        if fact:
            known = fact[lang] if fact.get("source") == "staff" else _with_year(fact[lang], lang)
            parts.append(t("what_i_know", lang, fact=known + _staff_note(fact, lang)))
        return Reply(
            "\n".join(parts),
            "field_unknown",
            buttons,
            entry["id"],
            fact["key"] if fact else None,
            source_of(entry, fact),
        )
    if fact is None:
        return Reply(entry["summary"][lang], "answer", buttons, entry["id"], None, source_of(entry, None))
    text = fact[lang] if fact.get("source") == "staff" else _with_year(fact[lang], lang)
    lines = [text + _staff_note(fact, lang)]
    others = [f[lang] for f in entry["facts"] if f is not fact][:2]
    if others:
        lines.append(t("also", lang, facts=" ".join(others)))
    lines.append(t("source_line", lang, report=REPORT_NAME[lang]) if fact.get("source") != "staff" else "")
    return Reply(
        "\n".join(line for line in lines if line), "answer", buttons, entry["id"], fact["key"], source_of(entry, fact)
    )


def staff_value(entry: dict[str, Any], name: str, lang: str) -> str | None:
    value = (entry.get("staff") or {}).get(name) or {}
    other = "en" if lang == "zh" else "zh"
    text = value.get(lang) or value.get(other)
    return text.strip() if text and text.strip() else None


def did_you_mean(candidates: list[str], lang: str, entries: dict[str, dict[str, Any]]) -> Reply:
    """Buttons for the entries the question may be about."""
    buttons = [{"title": entries[eid]["title"][lang], "payload": f"/ask_{eid}"} for eid in candidates if eid in entries]
    buttons.append({"title": BUTTONS["human"][lang], "payload": "/request_human"})
    return Reply(t("did_you_mean", lang), "did_you_mean", buttons)


def answer_question(
    question: str,
    lang: str,
    index: KnowledgeIndex,
    intent: str | None,
    confidence: float,
    ranking: list[dict[str, Any]],
    topic: str | None,
    low_confidence: bool = False,
) -> Reply:
    """Answer a resident's question; when unsure, offer choices, then the report, then say so."""
    entries = {e["id"]: e for e in index.entries}
    if question and topic not in entries and is_topicless(question) and not index.alias_hits(question):
        return Reply(t("no_topic_yet", lang), "no_topic")
    eid, score, runners = choose_entry(question, index, intent, confidence, ranking, topic)
    threshold = settings.ANSWER_MIN_SCORE_LOW_NLU if low_confidence else settings.ANSWER_MIN_SCORE
    if eid and score >= threshold:
        return answer_entry(entries[eid], question, lang, entries)
    candidates = [c for c in [eid, *runners] if c]
    if eid and score >= settings.SUGGEST_MIN_SCORE and candidates:
        return did_you_mean(candidates[:3], lang, entries)
    hits = index.search_sentences(strip_field_words(question), k=1)
    if hits and hits[0].coverage >= settings.SEARCH_MIN_COVERAGE:
        sentence = index.sentences[hits[0].key]
        return Reply(
            t("sentence_hit", lang, sentence=sentence),
            "sentence",
            [{"title": BUTTONS["human"][lang], "payload": "/request_human"}],
            source={"type": "report", "report": REPORT_NAME, "sentence": sentence},
        )
    if intent == "out_of_scope":
        return Reply(t("out_of_scope", lang), "out_of_scope")
    return Reply(t("dont_know", lang), "dont_know", [{"title": BUTTONS["human"][lang], "payload": "/request_human"}])
