"""How a question becomes an answer: which entry, which fact or staff field, in which language.

Pure functions over the KB snapshot, so they are tested without Rasa.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from actions.i18n import BUTTONS, FIELD_NAMES, t
from bot import settings
from kb.search import KnowledgeIndex
from kb.shape import ASKED_ORDER, staff_field
from kb.text import has_cjk, normalize, tokens

# Words that ask for a staff-only field rather than a figure (defined with the fields, in kb.shape).
_FIELD_RE = {name: re.compile(staff_field(name).asks, re.I) for name in ASKED_ORDER}

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


def is_topicless(question: str, index: KnowledgeIndex | None = None) -> bool:
    """True for a question with no subject of its own ("实付金额呢?", "what about the amount?")."""
    text = strip_field_words(question)
    for pattern in (*_FACET_RE.values(), _UNIT_ZH, *_UNIT_EN_RE.values()):
        text = pattern.sub(" ", text)
    words = [
        w
        for w in (index.tokens(text) if index else tokens(text))
        if not (has_cjk(w) and len(w) == 1) and w not in _GENERIC_EN
    ]
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
    scores: dict[str, float] = {}
    votes = settings.VOTES

    def add(eid: str | None, value: float) -> None:
        if index.entry(eid) is not None:
            scores[eid] = scores.get(eid, 0.0) + value

    for item in ranking[:5]:
        name = item.get("name") or ""
        if name.startswith("ask_") and name != "ask_followup":
            add(name[4:], float(item.get("confidence") or 0.0))
    if intent and intent.startswith("ask_") and not ranking:
        add(intent[4:], confidence)
    named = index.named(question)
    for rank, (eid, specific) in enumerate(named[:3]):
        add(eid, (votes.first_name if rank == 0 else votes.other_name) if specific else votes.generic_name)
    hits = index.search_entries(strip_field_words(question), k=3)
    for hit in hits:
        add(hit.key, votes.search * hit.coverage)
    previous = index.entry(topic)
    if previous is not None and not any(specific for _, specific in named):
        # The previous topic is the likeliest subject of a question that names no service.
        if is_topicless(question, index):
            add(topic, votes.topicless_follow_up)
        elif intent == "ask_followup" or mentions_a_fact(previous, question):
            add(topic, votes.follow_up)
        else:
            add(topic, votes.previous_topic)
        if hits and hits[0].key == topic:
            add(topic, votes.previous_topic_searched)
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


def report_name(index: KnowledgeIndex, lang: str) -> str:
    """The title of the report the KB quotes, in the language (from the KB's metadata)."""
    return (index.report_title or {}).get(lang) or t("the_report", lang)


def _with_year(text: str, lang: str, year: int | None) -> str:
    """Make sure a report answer says which year its figure is from (staff facts say their own)."""
    if year is None or re.search(r"(19|20)\d\d", text):
        return text
    return t("in_year", lang, year=str(year), text=text)


def fact_text(fact: dict[str, Any], lang: str, index: KnowledgeIndex) -> str:
    """A fact as the bot says it: a report fact with its year, a staff fact with who provided it and when."""
    if fact.get("source") == "staff":
        return fact[lang] + _staff_note(fact, lang)
    return _with_year(fact[lang], lang, index.year)


def source_of(
    entry: dict[str, Any], fact: dict[str, Any] | None, report: dict[str, str] | None = None
) -> dict[str, Any]:
    """The citation of an answer: the report quote and sentence, or the staff member who added it."""
    if fact and fact.get("source") == "staff":
        return {"type": "staff", "entry": entry["id"], "fact": fact["key"], "who": fact.get("created_by")}
    return {
        "type": "report",
        "entry": entry["id"],
        "fact": fact["key"] if fact else None,
        "report": report,
        "quote": fact.get("quote") if fact else None,
        "sentence": fact.get("sentence") if fact else None,
    }


def buttons_for(entry: dict[str, Any], lang: str, index: KnowledgeIndex) -> list[dict[str, str]]:
    """Next steps after an answer: the source, related services, a person."""
    buttons = [{"title": BUTTONS["source"][lang], "payload": "/show_source"}]
    for rid in entry.get("related", [])[:2]:
        related = index.entry(rid)
        if related is not None:
            buttons.append({"title": related["title"][lang], "payload": f"/ask_{rid}"})
    buttons.append({"title": BUTTONS["human"][lang], "payload": "/request_human"})
    return buttons


def staff_value(entry: dict[str, Any], name: str, lang: str) -> str | None:
    """A staff-only field in the language asked, falling back to the other language; None when empty."""
    value = (entry.get("staff") or {}).get(name) or {}
    other = "en" if lang == "zh" else "zh"
    text = value.get(lang) or value.get(other)
    return text.strip() if text and text.strip() else None


def staff_field_reply(entry: dict[str, Any], wanted: str, value: str, lang: str, index: KnowledgeIndex) -> Reply:
    """A staff-only detail that staff filled in, cited as theirs."""
    text = t(
        "staff_value",
        lang,
        title=entry["title"][lang],
        field=FIELD_NAMES[wanted][lang],
        value=value,
        date=str(entry.get("updated_at", ""))[:10] or "-",
    )
    fact = choose_fact(entry, "", lang)
    return Reply(
        text=text,
        kind="field",
        buttons=buttons_for(entry, lang, index),
        entry_id=entry["id"],
        fact_key=fact["key"] if fact else None,
        source={"type": "staff", "entry": entry["id"], "field": wanted},
    )


def contact_lines(wanted: str, lang: str, index: KnowledgeIndex, entry_id: str | None = None) -> list[str]:
    """Where to ask instead: the contact entry's detail staff filled (the one asked for, else phone, address,
    hours), or nothing. The contact entry is named in the KB's metadata (kb/source/report.yml)."""
    centre = index.entry(index.contact_entry)
    if centre is None or centre["id"] == entry_id:
        return []
    for name in (wanted, "phone", "address", "hours"):
        contact = staff_value(centre, name, lang)
        if contact:
            return [t("centre_contact", lang, field=FIELD_NAMES[name][lang], value=contact)]
    return []


def field_unknown_reply(entry: dict[str, Any], question: str, wanted: str, lang: str, index: KnowledgeIndex) -> Reply:
    """A staff-only detail nobody filled in: say so, send the resident to the contact entry, give what is known."""
    parts = [
        t(
            "field_unknown",
            lang,
            title=entry["title"][lang],
            field=FIELD_NAMES[wanted][lang],
            report=report_name(index, lang),
        )
    ]
    parts += contact_lines(wanted, lang, index, entry["id"])
    fact = choose_fact(entry, question, lang)
    if fact:
        parts.append(t("what_i_know", lang, fact=fact_text(fact, lang, index)))
    return Reply(
        text="\n".join(parts),
        kind="field_unknown",
        buttons=buttons_for(entry, lang, index),
        entry_id=entry["id"],
        fact_key=fact["key"] if fact else None,
        source=source_of(entry, fact, index.report_title),
    )


def fact_reply(entry: dict[str, Any], question: str, lang: str, index: KnowledgeIndex) -> Reply:
    """The fact that answers the question, two more of the entry's facts, and the source line."""
    buttons = buttons_for(entry, lang, index)
    fact = choose_fact(entry, question, lang)
    if fact is None:
        return Reply(
            text=entry["summary"][lang],
            kind="answer",
            buttons=buttons,
            entry_id=entry["id"],
            source=source_of(entry, None, index.report_title),
        )
    lines = [fact_text(fact, lang, index)]
    others = [f[lang] for f in entry["facts"] if f is not fact][:2]
    if others:
        lines.append(t("also", lang, facts=" ".join(others)))
    if fact.get("source") != "staff":
        lines.append(t("source_line", lang, report=report_name(index, lang)))
    return Reply(
        text="\n".join(lines),
        kind="answer",
        buttons=buttons,
        entry_id=entry["id"],
        fact_key=fact["key"],
        source=source_of(entry, fact, index.report_title),
    )


def answer_entry(entry: dict[str, Any], question: str, lang: str, index: KnowledgeIndex) -> Reply:
    """The answer about one entry: the staff field asked for, or an honest gap, or the fact asked for."""
    wanted = asked_field(question)
    if wanted:
        value = staff_value(entry, wanted, lang)
        if value:
            return staff_field_reply(entry, wanted, value, lang, index)
        return field_unknown_reply(entry, question, wanted, lang, index)
    return fact_reply(entry, question, lang, index)


def human_reply(buttons_lang: str) -> list[dict[str, str]]:
    """The one button that leads to a person."""
    return [{"title": BUTTONS["human"][buttons_lang], "payload": "/request_human"}]


def did_you_mean(candidates: list[str], lang: str, index: KnowledgeIndex) -> Reply:
    """Buttons for the entries the question may be about."""
    buttons = [
        {"title": entry["title"][lang], "payload": f"/ask_{entry['id']}"}
        for entry in (index.entry(eid) for eid in candidates)
        if entry is not None
    ]
    return Reply(text=t("did_you_mean", lang), kind="did_you_mean", buttons=buttons + human_reply(lang))


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
    if question and index.entry(topic) is None and is_topicless(question, index) and not index.alias_hits(question):
        return Reply(text=t("no_topic_yet", lang), kind="no_topic")
    eid, score, runners = choose_entry(question, index, intent, confidence, ranking, topic)
    threshold = settings.ANSWER_MIN_SCORE_LOW_NLU if low_confidence else settings.ANSWER_MIN_SCORE
    entry = index.entry(eid)
    if entry is not None and score >= threshold:
        return answer_entry(entry, question, lang, index)
    candidates = [c for c in [eid, *runners] if c]
    if eid and score >= settings.SUGGEST_MIN_SCORE and candidates:
        return did_you_mean(candidates[:3], lang, index)
    hits = index.search_sentences(strip_field_words(question), k=1)
    if hits and hits[0].coverage >= settings.SEARCH_MIN_COVERAGE:
        sentence = index.sentences[int(hits[0].key)]
        return Reply(
            text=t("sentence_hit", lang, sentence=sentence),
            kind="sentence",
            buttons=human_reply(lang),
            source={"type": "report", "report": index.report_title, "sentence": sentence},
        )
    if intent == "out_of_scope":
        return Reply(text=t("out_of_scope", lang), kind="out_of_scope")
    return Reply(
        text=t("dont_know", lang, report=report_name(index, lang)), kind="dont_know", buttons=human_reply(lang)
    )
