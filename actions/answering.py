"""How a question becomes an answer: which entry, which fact or staff field, in which language.

Pure functions over the KB snapshot, so they are tested without Rasa.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from actions import years as yearly
from actions.details import DETAIL_NAMES, Detail, asked_detail, gives, strip_detail_words
from actions.i18n import BUTTONS, FACET_NAMES, FIELD_NAMES, t, week_text
from actions.understanding import Question, figure_value, stated_figures, understand, without_time_and_place
from bot import settings
from bot.office_hours import mentions_holidays, opening_hours
from kb.search import KnowledgeIndex
from kb.shape import ASKED_ORDER, staff_field
from kb.text import has_cjk, normalize, tokens

# Words that ask for a staff-only field rather than a figure (defined with the fields, in kb.shape).
_FIELD_RE = {name: re.compile(staff_field(name).asks, re.I) for name in ASKED_ORDER}
# A staff text in English (two words of letters), once web links and e-mail addresses are left out.
_ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,}[\s,.;:]+[A-Za-z]{2,}")
_LINK = re.compile(r"\S+://\S+|www\.\S+|\S+@\S+")

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
# English words that give a follow-up no subject of its own (stemmed, as kb.text.tokens gives them).
_GENERIC_EN = set(
    "about what and then total figur number ok okay also there more less same gave give got open close start finish readi".split()
)
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
    more: list[Reply] = field(default_factory=list)  # answers to the message's other questions, said after it


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
    """The question without the words that ask for a field or a detail, so the search sees only the topic."""
    text = normalize(question)
    for pattern in _FIELD_RE.values():
        text = pattern.sub(" ", text)
    return strip_detail_words(text)


def is_topicless(question: str, index: KnowledgeIndex | None = None) -> bool:
    """True for a question with no subject of its own ("实付金额呢?", "what about the amount?")."""
    text = strip_field_words(without_time_and_place(question))
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


def mentions_a_fact(entry: dict[str, Any], question: str, naming_only: bool = False) -> bool:
    """True when the question uses a keyword of one of the entry's facts ("社会化运作" for day care).
    `naming_only` leaves out keywords that only ask for a kind of figure ("how many" in "the insurance pays how
    many percent?" names no fact)."""
    text = normalize(question)
    return any(
        _keyword_in(w, text)
        for f in entry["facts"]
        for w in f["keywords"]["zh"] + f["keywords"]["en"]
        if len(w) > 1 and not (naming_only and any(pattern.fullmatch(w) for pattern in _FACET_RE.values()))
    )


@dataclass
class Choice:
    """The entry a question is about, how sure (0..1), the runners-up, and whether the text itself (a name, the
    search, the previous topic) backs it rather than the NLU alone."""

    entry_id: str | None
    score: float
    runners: list[str]
    evidence: dict[str, float]  # entry -> support from the text, without the NLU
    shared: dict[str, float] = field(default_factory=dict)  # the part of it from names several entries share


# A switch of topic that names only a thing: "and the air?", "what about the water?", "那空气呢？".
# Words that point back at what the conversation was on ("which services can I do there?", "is it bigger than
# …?", "那里能办什么？").
# ("Are there", "there is" only say something exists.)
_BACK_REFERENCE = re.compile(
    r"(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bwere )\bthere\b(?! (is|are|was|were|any|been)\b)"
    r"|\b(that place|that one|this one|those ones)\b|\b(is|was|does|did|has|will) it\b(?! true)|那里|那边|那儿|那个地方|这个地方",
    re.I,
)

_SWITCH = re.compile(
    r"^(?:and|what about|how about|and what about)(?: the)? ((?:(?!how|what|who|when|where|why|many|much)[a-z-]+ ?){1,3})[?？]*$"
    r"|^(?:那|那么)?([\u4e00-\u9fff]{2,8})呢[?？]*$",
    re.I,
)


def done_at(service: str, place: str, index: KnowledgeIndex) -> bool:
    """True when `service` lists `place` as related and `place` does not list it back: the KB's way of saying
    where a service is done (the service centre lists its own windows, not every matter handled there)."""
    return place in (index.entry(service) or {}).get("related", []) and service not in (index.entry(place) or {}).get(
        "related", []
    )


def choose_entry(
    question: str,
    index: KnowledgeIndex,
    intent: str | None,
    confidence: float,
    ranking: list[dict[str, Any]],
    topic: str | None,
    context: str = "",
    nlu_weight: float = 1.0,
    story: str = "",
) -> Choice:
    """The entry a question is about.

    Combines the NLU intent ranking (times `nlu_weight`: less for a long message, which the NLU read whole),
    entry names found in the question, the BM25 search and, for a follow-up without a topic of its own, the
    previous topic. Names in the `context` (the clauses of a story around the question) count a little.
    """
    scores: dict[str, float] = {}
    evidence: dict[str, float] = {}
    shared: dict[str, float] = {}
    votes = settings.VOTES

    def add(eid: str | int | None, value: float, from_text: bool = True) -> None:
        if isinstance(eid, str) and index.entry(eid) is not None:
            scores[eid] = scores.get(eid, 0.0) + value
            if from_text:
                evidence[eid] = evidence.get(eid, 0.0) + value

    for item in ranking[:5]:
        name = item.get("name") or ""
        if name.startswith("ask_") and name != "ask_followup":
            add(name[4:], nlu_weight * float(item.get("confidence") or 0.0), from_text=False)
    if intent and intent.startswith("ask_") and not ranking:
        add(intent[4:], nlu_weight * confidence, from_text=False)
    named = index.named(question)
    query = strip_field_words(question)
    hits = index.search_entries(query, k=3)
    # A one- or two-word query covers itself easily: its search vote counts in proportion.
    length = min(1.0, len(index.tokens(query)) / 3)
    coverage = {hit.key: hit.coverage for hit in hits}
    overlapping = index.overlapping_names(question)
    for rank, (eid, specific) in enumerate(named[:3]):
        clearly_elsewhere = [
            str(k) for k, c in coverage.items() if k != eid and c >= 0.5 and c >= coverage.get(eid, 0.0) + 0.25
        ]
        if not specific and clearly_elsewhere:
            continue  # "medical insurance" in a question the search clearly places under reimbursement
        if coverage.get(eid, 0.0) > 0 and any(done_at(k, eid, index) for k in clearly_elsewhere):
            # "Which new freight services did the service centre start handling?": the name says where, the
            # words say what
            continue
        first = rank == 0 and eid not in overlapping  # overlapping names leave the search to decide
        if specific:
            add(eid, votes.first_name if first else votes.other_name)
        else:
            add(eid, votes.generic_name)
            shared[eid] = shared.get(eid, 0.0) + votes.generic_name
    switched = _SWITCH.match(question.strip())
    if not named and switched:
        # "and the air?", "那空气呢？": a word only one service's names hold names it in a switch of topic
        for eid in index.named_by_a_part(switched.group(1) or switched.group(2))[:1]:
            add(eid, votes.generic_name)
    if context:
        for eid, specific in index.named(context)[:2]:
            add(eid, votes.context_name if specific else votes.context_name / 2)
    if story:
        # A long message: the clause that asks leads, the story around it counts too (it often names the need).
        told = {hit.key: hit.coverage for hit in index.search_entries(story, k=3)}
        for key in set(coverage) | set(told):
            add(key, votes.search * (0.6 * coverage.get(key, 0.0) * length + 0.4 * told.get(key, 0.0)))
    else:
        for hit in hits:
            add(hit.key, votes.search * hit.coverage * length)
    previous = index.entry(topic)
    if previous is not None and not any(specific for _, specific in named):
        # The previous topic is the likeliest subject of a question that names no service; it backs the
        # entry as the text would when the question has no subject of its own ("实付金额呢?") or asks for a
        # detail or a figure of it ("几岁好领？").
        # Asking for a figure or detail backs it, unless the search places the question's own words elsewhere
        # ("and what's the home care coverage rate?" after day care).
        elsewhere = bool(hits) and hits[0].key != topic and hits[0].coverage * length >= 0.75
        asks_detail = bool(asked_fields(question) or asked_facet(question)) and not elsewhere
        back = bool(_BACK_REFERENCE.search(question))  # "there": the conversation's topic, by the resident's words
        about_it = asks_detail or back or mentions_a_fact(previous, question)
        # (the NLU's follow-up counts when it leads the ranking, under a fallback too: "how many people were
        # screened?" after heart screening reads as a follow-up a little below the fallback's threshold)
        read_as_follow_up = (
            intent == "ask_followup"
            or next((item.get("name") for item in ranking if item.get("name") != "nlu_fallback"), None)
            == "ask_followup"
        )
        if is_topicless(question, index):
            add(topic, votes.topicless_follow_up)
        elif read_as_follow_up or back or mentions_a_fact(previous, question):
            add(topic, votes.follow_up, from_text=about_it)
        else:
            add(topic, votes.previous_topic, from_text=about_it)
        if hits and hits[0].key == topic:
            add(topic, votes.previous_topic_searched, from_text=False)
    if not scores:
        return Choice(None, 0.0, [], evidence, shared)
    ranked = sorted(scores, key=lambda eid: -scores[eid])
    return Choice(ranked[0], min(scores[ranked[0]], 1.0), ranked[1:4], evidence, shared)


def ranked_facts(entry: dict[str, Any], question: str, prefer: str | None = None) -> list[dict[str, Any]]:
    """The entry's facts, the one that best answers the question first: the facet and unit asked for, the
    facts' keywords; with no such signal, the `prefer`red fact (the one the conversation was on), then the
    entry's order."""
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
        if fact["key"] == prefer:
            value += 0.5  # less than any signal of the question itself
        return value, -position

    return [fact for _, fact in sorted(enumerate(entry["facts"]), key=score, reverse=True)]


def choose_fact(entry: dict[str, Any], question: str, lang: str, prefer: str | None = None) -> dict[str, Any] | None:
    """The fact of an entry that best answers the question (its first fact by default)."""
    ranked = ranked_facts(entry, question, prefer)
    return ranked[0] if ranked else None


def _staff_note(fact: dict[str, Any], lang: str) -> str:
    if fact.get("source") == "staff":
        return " " + t("staff_fact", lang, date=str(fact.get("created_at", ""))[:10] or "-")
    return ""


def report_name(index: KnowledgeIndex, lang: str) -> str:
    """The title of the report the KB quotes, in the language (from the KB's metadata)."""
    return (index.report_title or {}).get(lang) or t("the_report", lang)


def fact_text(fact: dict[str, Any], lang: str, index: KnowledgeIndex) -> str:
    """A fact as the bot says it: a report fact with its year, a staff fact with who provided it and when."""
    if fact.get("source") == "staff":
        return fact[lang] + _staff_note(fact, lang)
    return yearly.with_year(fact[lang], lang, yearly.year_of(fact) or index.year)


def source_of(
    entry: dict[str, Any], fact: dict[str, Any] | None, report: dict[str, str] | None = None
) -> dict[str, Any]:
    """The citation of an answer: the report quote and sentence, or "town staff" (never a staff username)."""
    if fact and fact.get("source") == "staff":
        return {"type": "staff", "entry": entry["id"], "fact": fact["key"]}
    return {
        "type": "report",
        "entry": entry["id"],
        "fact": fact["key"] if fact else None,
        "report": (fact.get("report_title") if fact else None) or report,
        "quote": fact.get("quote") if fact else None,
        "sentence": fact.get("sentence") if fact else None,
    }


def entry_reply(
    entry: dict[str, Any], fact: dict[str, Any] | None, lines: list[str], kind: str, lang: str, index: KnowledgeIndex
) -> Reply:
    """A reply about an entry: its lines, next-step buttons, the fact it leads with and that fact's citation."""
    return Reply(
        text="\n".join(line for line in lines if line),
        kind=kind,
        buttons=buttons_for(entry, lang, index),
        entry_id=entry["id"],
        fact_key=fact["key"] if fact else None,
        source=source_of(entry, fact, index.report_title),
    )


def buttons_for(entry: dict[str, Any], lang: str, index: KnowledgeIndex) -> list[dict[str, str]]:
    """Next steps after an answer: the source, related services, a person."""
    buttons = [{"title": BUTTONS["source"][lang], "payload": "/show_source"}]
    for rid in entry.get("related", [])[:2]:
        related = index.entry(rid)
        if related is not None:
            buttons.append({"title": related["title"][lang], "payload": f"/ask_{rid}"})
    buttons.append({"title": BUTTONS["human"][lang], "payload": "/request_human"})
    return buttons


def typed_staff_value(entry: dict[str, Any], name: str, lang: str) -> str | None:
    """A staff-only field as staff typed it, in the language asked, else the other language's; None when empty."""
    value = (entry.get("staff") or {}).get(name) or {}
    other = "en" if lang == "zh" else "zh"
    text = value.get(lang) or value.get(other)
    return text.strip() if text and text.strip() else None


def staff_value(entry: dict[str, Any], name: str, lang: str) -> str | None:
    """A staff-only field as a reply in `lang` says it; None when empty. Staff filled only the other language:
    opening hours the office-hours reader understands completely (and that say nothing of holidays, which it
    cannot carry over) are said from their days and times in `lang`; any other text in the other language is
    given as written, labelled so, never as if it were a translation."""
    own = ((entry.get("staff") or {}).get(name) or {}).get(lang)
    text = typed_staff_value(entry, name, lang)
    if text is None or (own and own.strip()):
        return text
    if name == "hours" and not mentions_holidays(text) and (week := opening_hours(text)):
        return week_text(week, lang)
    return t("as_written", lang, text=text) if in_other_language(text, lang) else text


def in_other_language(text: str, lang: str) -> bool:
    """Whether a text is in the other language than `lang`: Chinese characters for an English reply, English
    words for a Chinese one (numbers, web links and e-mail addresses belong to neither)."""
    if lang == "en":
        return has_cjk(text)
    return bool(_ENGLISH_WORDS.search(_LINK.sub(" ", text)))


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
    return entry_reply(entry, fact, parts, "field_unknown", lang, index)


def fact_reply(
    entry: dict[str, Any], question: str, lang: str, index: KnowledgeIndex, prefer: str | None = None
) -> Reply:
    """The fact that answers the question, the next two that answer it best, and the source line."""
    ranked = ranked_facts(entry, question, prefer)
    if not ranked:
        return entry_reply(entry, None, [entry["summary"][lang]], "answer", lang, index)
    fact = ranked[0]
    lines = [fact_text(fact, lang, index)]
    others = [f[lang] for f in ranked[1:3]]
    if others:
        lines.append(t("also", lang, facts=" ".join(others)))
    # Every report the lines quote, the leading fact's first: after a later report, "also" may be an earlier one's.
    titles: list[str] = []
    for item in ranked[:3]:
        title = (item.get("report_title") or {}).get(lang) or report_name(index, lang)
        if item.get("source") != "staff" and title not in titles:
            titles.append(title)
    if titles:
        lines.append(t("source_line", lang, report=("；" if lang == "zh" else "; ").join(titles)))
    return entry_reply(entry, fact, lines, "answer", lang, index)


# "Is there a platform where people can complain?", "Are there day centres where old people can spend the day?":
# that "where" tells what the place is for, it does not ask for an address.
# "Is there a place where …", "I work in a factory where the fire exits are blocked": a "where" that says
# what a place is like, not where something is.
_RELATIVE_WHERE = re.compile(
    r"\b((?:is|are) there\b[^?？]{1,50}?)\bwhere\b"
    r"|\b((?:live|work|works|worked|lives|lived|stay|stays) (?:in|at) (?:a|an|the|our|my|his|her|their) [\w-]+(?: [\w-]+)?) where\b",
    re.I,
)


def asked_fields(question: str) -> list[str]:
    """Every staff-only field a question asks for, in the order asked ("在哪里办？电话多少？": address, phone)."""
    text = _RELATIVE_WHERE.sub(lambda m: (m.group(1) or m.group(2)) + " ", normalize(question))
    found = [(m.start(), name) for name, pattern in _FIELD_RE.items() if (m := pattern.search(text))]
    return [name for _, name in sorted(found)]


def fields_reply(entry: dict[str, Any], question: str, wanted: list[str], lang: str, index: KnowledgeIndex) -> Reply:
    """One line per staff field asked for: its value when staff filled it, else an honest gap (once)."""
    if len(wanted) == 1:
        value = staff_value(entry, wanted[0], lang)
        if value:
            return staff_field_reply(entry, wanted[0], value, lang, index)
        return field_unknown_reply(entry, question, wanted[0], lang, index)
    known = [(name, value) for name in wanted if (value := staff_value(entry, name, lang))]
    missing = [name for name in wanted if not staff_value(entry, name, lang)]
    if not missing:
        lines = [staff_field_reply(entry, name, value, lang, index).text for name, value in known]
        reply = staff_field_reply(entry, wanted[0], known[0][1], lang, index)
        reply.text = "\n".join(lines)
        return reply
    reply = field_unknown_reply(entry, question, missing[0], lang, index)
    names = (
        "、".join(FIELD_NAMES[n][lang] for n in missing)
        if lang == "zh"
        else ", ".join(FIELD_NAMES[n][lang] for n in missing)
    )
    first = t("field_unknown", lang, title=entry["title"][lang], field=names, report=report_name(index, lang))
    lines = [staff_field_reply(entry, name, value, lang, index).text for name, value in known]
    reply.text = "\n".join([*lines, first, *reply.text.split("\n")[1:]])
    return reply


def answer_entry(entry: dict[str, Any], question: str, lang: str, index: KnowledgeIndex) -> Reply:
    """The answer about one entry: the staff fields asked for, or an honest gap, or the fact asked for."""
    wanted = asked_fields(question)
    if wanted:
        return fields_reply(entry, question, wanted, lang, index)
    return fact_reply(entry, question, lang, index)


def honest_gap_reply(
    entry: dict[str, Any],
    question: str,
    key: str,
    lang: str,
    index: KnowledgeIndex,
    prefer: str | None = None,
    **values: str,
) -> Reply:
    """The KB lacks what was asked (another year, a comparison, a facet): say so, then what it does know,
    labelled with its year."""
    ranked = ranked_facts(entry, question, prefer)
    fact = ranked[0] if ranked else None
    lines = [
        t(
            key,
            lang,
            title=entry["title"][lang],
            year=yearly.known_years(fact, lang) or str(index.year or "-"),
            **values,
        )
    ]
    if fact:
        lines.append(t("what_i_know", lang, fact=fact_text(fact, lang, index)))
        others = [fact_text(f, lang, index) for f in ranked[1:3]]
        if others:
            lines.append(t("also", lang, facts=" ".join(others)))
    lines += contact_lines("phone", lang, index, entry["id"])
    kind = (
        "year_unknown"
        if key in ("year_unknown", "year_unknown_part", "change_unknown", "place_unknown")
        else "facet_unknown"
    )
    return entry_reply(entry, fact, lines, kind, lang, index)


def _has_a_figure_for(entry: dict[str, Any], years: list[int]) -> bool:
    """True when one of the entry's facts has a figure for one of the years."""
    return any(yearly.year_of(m) in years for f in entry["facts"] for m in yearly.members(f))


def summary_reply(entry: dict[str, Any], lang: str, index: KnowledgeIndex, question: str = "") -> Reply:
    """What a service is: the entry's summary, then its facts with their year, the ones the question's words
    name first ("小饭店气改电是怎么回事？": the gas-to-electric fact of fire safety)."""
    facts = ranked_facts(entry, question) if question else entry["facts"]
    fact = facts[0] if facts else None
    lines = [t("summary", lang, title=entry["title"][lang], summary=entry["summary"][lang])]
    if fact:
        lines.append(" ".join(fact_text(f, lang, index) for f in facts[:3]))
        if fact.get("source") != "staff":
            lines.append(t("source_line", lang, report=report_name(index, lang)))
    return entry_reply(entry, fact, lines, "summary", lang, index)


# A question that wants a number ("how many", "多少人"): an entry without any figure cannot answer it.
_ASKS_A_NUMBER = re.compile(r"多少|几[个家次人位处户名项场批件]|how many|how much|number of|what percentage", re.I)
_COMPARATIVE_FACT = re.compile(
    r"同比|增长|下降|提高|降低|比上年|较上年|排名|排第|第一|全市|全省|increase|decrease|rank|first"
)
_PREMISE_CUE = re.compile(
    r"听说|据说|听人说|有人说|是不是|是真的|真的吗|难道|不是说|好像|据传|号称|"
    r"i heard|i've heard|is it true|really\b|apparently|supposedly|someone (said|told)|people say|isn't it|right\?",
    re.I,
)


def premise_fact(question: Question, entry: dict[str, Any], index: KnowledgeIndex) -> dict[str, Any] | None:
    """The fact whose figure contradicts a figure the resident assumed ("听说有5万老人领了？" -> 21389人), if any.

    Only with a cue that the resident is checking a claim (听说, is it true …); a stated number that matches
    any of the entry's figures (within 2%) is no wrong premise.
    """
    if not _PREMISE_CUE.search(question.text):
        return None
    text = index.without_names(question.text)
    stated = [(v, unit) for v, unit in stated_figures(text) if not (1900 <= v <= 2100 and not unit)]
    # the facts in the order the question's words rank them ("over 100 biomass boilers": the boilers' figure)
    ranked = ranked_facts(entry, question.text)
    valued = [(f, figure_value(f.get("figure"))) for f in ranked if f.get("kind") in ("count", "amount")]
    figures = [(f, v) for f, v in valued if v]
    if not stated or not figures:
        return None
    if any(abs(n - v) <= 0.02 * v for n, _ in stated for _, v in figures):
        return None
    kind = "amount" if any(u in ("元", "钱", "yuan", "rmb") for _, u in stated) else "count"
    return next((f for f, _ in figures if f["kind"] == kind), figures[0][0])


def missing_figure(entry: dict[str, Any], focus: str, fact: dict[str, Any] | None = None) -> str | None:
    """The kind of figure asked for that the entry has none of ("rate", "amount", "count"), if so: a rate or
    an amount it has no fact of that kind for (unless the question names one of its facts), or any number when
    it holds no figure at all."""
    facet, facts = asked_facet(focus), entry.get("facts", [])
    if facet in ("rate", "amount") and not any(f["kind"] == facet for f in facts):
        if not (fact and mentions_a_fact({"facts": [fact]}, focus, naming_only=True)):
            return facet
    if _ASKS_A_NUMBER.search(normalize(focus)) and not any(f.get("figure") for f in facts):
        return "count"
    if asked_unit(focus) == "人" and not any("人" in (f.get("figure") or "") for f in facts):
        return "count"  # how many people, where the entry counts only sessions or years ("the 27th fitness month")
    return None


def answer_about(
    entry: dict[str, Any], question: Question, lang: str, index: KnowledgeIndex, prefer: str | None = None
) -> Reply:
    """The answer about the chosen entry, honest about what the KB does not hold.

    In order: staff fields asked for; another year, a change over time or another place (the KB has one
    year of one town); a rate or amount the entry has no fact for, or any number when it has no figure at
    all; a detail no fact gives (an itemised list, a date, a penalty: actions/details.yml); "what is it"; a figure the resident assumed that the KB contradicts; else the fact asked for.
    `prefer` is the fact the conversation was on, for a follow-up that names none ("2022?").
    """
    focus = question.focus
    # A field, figure or detail named in a clause that tells rather than asks ("My mum has a low-income
    # certificate and she paid the medical insurance anyway. Will she get it back?") is not asked for.
    asking = " ".join(c for c in question.asks if c in focus) or focus
    wanted = asked_fields(asking)
    if wanted:
        return fields_reply(entry, focus, wanted, lang, index)
    # Answers by year (actions/years.py): another year's figure, or two years compared.
    on, prefer = prefer, yearly.lead_key(entry, prefer)
    fact = choose_fact(entry, focus, lang, prefer)
    by_year = yearly.answer(entry, question, fact, lang, on, index.report_title)
    if by_year is not None:
        return entry_reply(entry, by_year.fact, by_year.lines, by_year.kind, lang, index)
    other_years = yearly.unknown_years(yearly.asked_years(question, entry, fact, on), fact)
    comparative = fact is not None and _COMPARATIVE_FACT.search(fact["zh"] + " " + fact["en"]) is not None
    if question.change and not comparative and len(yearly.members(fact) if fact else []) < 2:
        return honest_gap_reply(entry, focus, "change_unknown", lang, index, prefer)
    if other_years and not (question.change and comparative):
        years = "、".join(str(y) for y in other_years) if lang == "zh" else ", ".join(str(y) for y in other_years)
        # Another of the entry's figures has that year: "this figure" has none, not the whole entry.
        key = "year_unknown_part" if _has_a_figure_for(entry, other_years) else "year_unknown"
        return honest_gap_reply(entry, focus, key, lang, index, prefer, years=years)
    if question.other_place and not comparative:
        return honest_gap_reply(entry, focus, "place_unknown", lang, index, prefer)
    facet = asked_facet(asking)
    missing = missing_figure(entry, asking, fact)
    if missing:
        return honest_gap_reply(entry, focus, "facet_unknown", lang, index, facet=FACET_NAMES[missing][lang])
    detail = asked_detail(asking)
    if detail and not gives_detail(entry["id"], detail, index):
        # "跨村通办第二批清单里具体有哪些事项？": the KB says the list was issued, not what is on it.
        return honest_gap_reply(
            entry, focus, "facet_unknown", lang, index, prefer, facet=DETAIL_NAMES[detail.name][lang]
        )
    if question.what_is and not facet and not asked_unit(focus):
        return summary_reply(entry, lang, index, focus)
    wrong = premise_fact(question, entry, index)
    if wrong is not None:
        reply = fact_reply(entry, wrong[lang], lang, index)
        reply.text = t("premise", lang) + "\n" + reply.text
        return reply
    return fact_reply(entry, focus, lang, index, prefer)


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


def scope_reply(key: str, lang: str, index: KnowledgeIndex, named: list[str] | None = None) -> Reply:
    """About the bot, one's own records, or nothing the town's services cover: what the bot can do, no facts."""
    buttons = [
        {"title": entry["title"][lang], "payload": f"/ask_{entry['id']}"}
        for entry in (index.entry(eid) for eid in (named or [])[:1])
        if entry is not None
    ]
    return Reply(text=t(key, lang), kind=key, buttons=buttons + (human_reply(lang) if key == "personal_record" else []))


def clause_that_asks(read: Question, index: KnowledgeIndex) -> str:
    """In a long message, the asking clause the KB can answer best: the most text evidence (names, search);
    on a tie the later one. Meta clauses ("Can you tell me?") carry none, so the real question wins."""
    best, best_score = read.focus, -1.0
    for clause in read.asks:
        evidence = choose_entry(clause, index, None, 0.0, [], None).evidence
        score = max(evidence.values(), default=0.0)
        if score >= best_score and score > 0:
            best, best_score = clause, score
    return best


def names_a_service(text: str, index: KnowledgeIndex) -> bool:
    """True when the text names a service or the search alone points clearly at one."""
    return bool(index.alias_hits(text)) or clear_winner(choose_entry(text, index, None, 0.0, [], None)) is not None


def clear_winner(choice: Choice) -> str | None:
    """The entry the text alone points at, if it does: enough support, and well ahead of the next. A name
    several entries share ("医保") names a family, not the entry: it does not count here, where the text
    overrules the NLU."""
    own = {eid: value - choice.shared.get(eid, 0.0) for eid, value in choice.evidence.items()}
    ranked = sorted(own.items(), key=lambda item: -item[1])
    if not ranked:
        return None
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    if ranked[0][1] >= settings.CLEAR_EVIDENCE and ranked[0][1] >= settings.CLEAR_MARGIN * runner:
        return ranked[0][0]
    return None


def contender(
    choice: Choice, chosen: str, intent: str | None, confidence: float, read: Question, index: KnowledgeIndex
) -> str | None:
    """The NLU's own pick, when the text overruled it (clear_winner) although the NLU was fairly sure and the
    text backs its pick too. The NLU and the text then disagree, and a confident answer may be about the
    wrong service: the resident is asked instead.

    ("I graduate in June and want to open a coffee place. Does the town support graduates starting a
    business?": the name "starting a business" points at business opening, the NLU at the graduates' entry.)
    Where the text backs the chosen entry nearly as much as the NLU's, the NLU already decided
    (EVIDENCE_MARGIN in answer_question), so that is no disagreement; where it backs the NLU's entry far less
    (CONTEST_SHARE), the text decided. A certain NLU (NLU_DECIDES) is followed, not asked about. The NLU reads the whole message: its
    pick counts only when the asking clauses back it too, not just the story before them ("I lost my job …
    does the town help poor families?").
    """
    nlu = intent[4:] if intent and intent.startswith("ask_") and intent != "ask_followup" else None
    if (
        not nlu
        or nlu == chosen
        or confidence < settings.CONTEST_NLU
        or choice.evidence.get(nlu, 0.0)
        < max(settings.SUGGEST_MIN_EVIDENCE, settings.CONTEST_SHARE * choice.evidence.get(chosen, 0.0))
    ):
        return None
    asking = read.plainest or " ".join(read.asks) or read.focus
    if choose_entry(asking, index, None, 0.0, [], None).evidence.get(nlu, 0.0) < settings.SUGGEST_MIN_EVIDENCE:
        return None
    return nlu


def referred_back(choice: Choice, chosen: str, text: str, topic: str | None) -> str | None:
    """The conversation's topic, when the question points back at it ("which services can I do there?" after
    cross-village service) while its other words fit another service about as well: the resident is asked."""
    if not topic or topic == chosen or not _BACK_REFERENCE.search(text):
        return None
    backed = choice.evidence.get(topic, 0.0) >= settings.RIVAL_SHARE * choice.evidence.get(chosen, 0.0)
    return topic if backed else None


def named_rival(choice: Choice, chosen: str, text: str, index: KnowledgeIndex) -> str | None:
    """Another service the message names by its own name and the text backs more than the chosen one: "I've
    been to the service hall three times and still can't get my paperwork done" names the service centre and
    the can't-get-it-done window. Two names and nothing that decides between them (the NLU is not certain
    either): the resident is asked."""
    specific = [eid for eid, own in index.named(text) if own]
    if chosen not in specific:
        return None
    mine = choice.evidence.get(chosen, 0.0)
    rivals = [eid for eid in specific if eid != chosen and choice.evidence.get(eid, 0.0) > mine]
    return rivals[0] if rivals else None


def nlu_decides(intent: str | None, confidence: float, eid: str | None) -> bool:
    """The NLU is certain (NLU_DECIDES) of this entry: followed when the text backs it at all."""
    return bool(eid) and intent == f"ask_{eid}" and confidence >= settings.NLU_DECIDES


def gives_detail(eid: str, detail: Detail | None, index: KnowledgeIndex) -> bool:
    """True when a fact of the entry gives the detail asked (actions/details.yml `given_by`)."""
    return detail is not None and any(gives(detail, f) for f in (index.entry(eid) or {}).get("facts", []))


def the_one_that_gives(
    entry: dict[str, Any], detail: Detail, choice: Choice, question: str, index: KnowledgeIndex
) -> dict[str, Any]:
    """The entry to answer when the question asks a detail the chosen entry cannot give and exactly one other
    service the question names can ("My mum has a low-income certificate and paid the medical insurance anyway.
    Will she get it back?": the refund is enrolment's, not hardship relief's); else the chosen one."""
    named = {eid for eid, _ in index.named(question)}
    givers = [eid for eid in choice.runners if eid in named and gives_detail(eid, detail, index)]
    return (index.entry(givers[0]) or entry) if len(givers) == 1 else entry


_A_QUESTION = re.compile(
    r"[?？]\s*$|多少|几[个家人次处]|吗|请问|想问|想知道|告诉我|\bhow (many|much)\b|\btell me\b|\bwant to know\b", re.I
)


def first_of_several(read: Question, index: KnowledgeIndex) -> str | None:
    """The first asking clause of a message whose questions are about different services, if so: each names its
    service by its own names or, naming none, its words alone point clearly at one ("Two things: how much public
    health money …, and how many women had the breast and cervical screening?")."""
    if len(read.asks) < 2:
        return None
    placed: list[tuple[str, set[str]]] = []
    for clause in read.asks:
        if not _A_QUESTION.search(clause):
            continue  # a clause of the story ("I lost my job … we can't pay the bills.")
        eids = {eid for eid, own in index.named(clause) if own}
        if not eids:
            winner = clear_winner(choose_entry(clause, index, None, 0.0, [], None))
            eids = {winner} if winner else set()
        if eids:
            placed.append((clause, eids))
    services = {eid for _, eids in placed for eid in eids}
    return placed[0][0] if len(placed) > 1 and len(services) > 1 else None


def other_questions(question: Question, first: str, index: KnowledgeIndex) -> list[tuple[str, str]]:
    """The message's other questions about other services, as (clause, entry): a clause that names a service
    of its own, or that the text alone places clearly ("Two things: how much public health money was given,
    and how many women were screened?"). At most two; in the order asked."""
    out: list[tuple[str, str]] = []
    for clause in question.asks:
        if clause == question.focus or len(out) == 2:
            continue
        named = [eid for eid, specific in index.named(clause) if specific]
        eid = named[0] if named else clear_winner(choose_entry(clause, index, None, 0.0, [], None))
        if eid and eid != first and eid not in {e for _, e in out}:
            out.append((clause, eid))
    return out


def also_answered(
    question: Question, first: str, lang: str, index: KnowledgeIndex, today: date | None
) -> tuple[list[Reply], list[dict[str, str]]]:
    """The answers to the message's other questions, and a button for each one that got no answer of its own
    (a "did you mean" or "not in the KB" for it would only crowd the first answer)."""
    answers: list[Reply] = []
    buttons: list[dict[str, str]] = []
    for clause, eid in other_questions(question, first, index):
        entry = index.entry(eid)
        if entry is None:
            continue
        reply = answer_about(entry, understand(clause, today), lang, index)
        if reply.kind in ("answer", "summary", "field", "year_unknown", "facet_unknown", "field_unknown"):
            answers.append(reply)
        else:
            buttons.append({"title": t("also_asked", lang, title=entry["title"][lang]), "payload": f"/ask_{eid}"})
    return answers, buttons


def answer_question(
    question: str,
    lang: str,
    index: KnowledgeIndex,
    intent: str | None,
    confidence: float,
    ranking: list[dict[str, Any]],
    topic: str | None,
    low_confidence: bool = False,
    today: date | None = None,
    fact: str | None = None,
) -> Reply:
    """Answer a resident's message; when unsure, offer choices, then the report, then say so.

    The message is first put in the KB's words (dialect, pinyin, homophones of names) and read for the
    clause that asks; a message about the bot or one's own records gets a statement of scope, never facts,
    and so does a topic no service covers (the weather). `topic` and `fact` are what the conversation was on.
    """
    read = understand(index.rewrite(question), today) if question else understand("")
    if question and not re.search(r"[A-Za-z\u3400-\u9fff]", question) and not read.years:
        return Reply(text=t("no_topic_yet", lang), kind="no_topic")  # emoji, digits: no question to answer
    if question and read.personal:
        return scope_reply("personal_record", lang, index, index.alias_hits(read.text))
    if question and read.about_bot:
        # Never follow an instruction; answer only a real question asked beside it, by the KB alone.
        honest = [c for c in read.asks if not understand(c).about_bot and any(s for _, s in index.named(c))]
        if not honest:
            return scope_reply("about_bot", lang, index)
        read = understand(honest[-1], today)
    if question and read.off_topic and not names_a_service(read.text, index):
        return scope_reply("out_of_scope", lang, index)
    asked = read.plainest or read.focus
    if read.is_long:
        read.focus = clause_that_asks(read, index)  # the asking clause the KB can answer best
    focus = read.focus
    # A question with no subject and no conversation to take one from (a long story may still name the need).
    if focus and index.entry(topic) is None and is_topicless(read.text, index):
        return Reply(text=t("no_topic_yet", lang), kind="no_topic")
    context = " ".join(c for c in read.clauses if c != focus) if read.is_long else ""
    nlu_weight = settings.VOTES.long_message_nlu if read.is_long else 1.0
    story = read.text if read.is_long else ""
    # "An official is pocketing money. Where can I report this?": the clause that asks names nothing, the
    # clause before it names the need, so the entry is chosen from the whole message.
    about = read.text if len(read.clauses) > 1 and not story and is_topicless(focus, index) else focus
    first = first_of_several(read, index) if not story else None
    if first:
        # "两癌筛查做了多少人？心脑血管筛查又做了多少人？": the first question is answered here, the others after
        # it (also_answered), rather than one service weighed against the other.
        about = asked = first
        read = replace(read, focus=first)
    choice = choose_entry(about, index, intent, confidence, ranking, topic, context, nlu_weight, story)
    threshold = settings.ANSWER_MIN_SCORE_LOW_NLU if low_confidence else settings.ANSWER_MIN_SCORE
    entry = index.entry(choice.entry_id)
    # The text itself must back the entry, unless the NLU is sure of a short message (it read it whole) ...
    mine, best = choice.evidence.get(choice.entry_id or "", 0.0), max(choice.evidence.values(), default=0.0)
    # (a name several entries share, "medical insurance", names the family: it backs none of them on its own)
    own = mine - choice.shared.get(choice.entry_id or "", 0.0)
    supported = not question or own >= settings.ANSWER_MIN_EVIDENCE and mine >= best - settings.EVIDENCE_MARGIN - 1e-9
    nlu_sure = (
        confidence >= settings.NLU_SURE
        and not read.is_long
        and intent == f"ask_{choice.entry_id}"
        and choice.evidence.get(choice.entry_id or "", 0.0) >= max(choice.evidence.values(), default=0.0) - 0.05
    ) or (
        # a certain NLU whose entry the text backs too, if less than another ("How much public health money
        # did the town hand out?": "hand out" also fits other entries' words)
        nlu_decides(intent, confidence, choice.entry_id)
        and mine >= max(settings.SUGGEST_MIN_EVIDENCE, settings.CONTEST_SHARE * best)
    )
    # A follow-up with no conversation to follow ("how much was paid out in total?" after a "did you mean")
    # names its subject only if its words point clearly at one service.
    orphan = (
        intent == "ask_followup"
        and confidence >= settings.NLU_SURE
        and index.entry(topic) is None
        and not any(specific for _, specific in index.named(about))
    )
    # ... or the text alone points clearly at one entry (a story the NLU could not read, or read wrong).
    if orphan or not (entry is not None and choice.score >= threshold and (supported or nlu_sure)):
        entry = index.entry(clear_winner(choice))
    # A follow-up that names nothing is about the conversation's topic, whatever the NLU read in it alone.
    follow_up = entry is not None and entry["id"] == topic and is_topicless(read.focus, index)
    rival, certain = None, False
    if entry is not None and question and not follow_up:
        certain = intent == f"ask_{entry['id']}" and confidence >= settings.NLU_CERTAIN
        rival = contender(choice, entry["id"], intent, confidence, read, index) or (
            None
            if certain
            else named_rival(choice, entry["id"], about, index) or referred_back(choice, entry["id"], about, topic)
        )
    if entry is not None and rival and nlu_decides(intent, confidence, rival):
        entry, rival, certain = index.entry(rival), None, True  # the NLU is certain, the asking words back it
    detail = asked_detail(read.focus)
    if entry is not None and rival:
        # Of the two services, only one can answer the detail asked ("低保免缴的医保钱能退吗": the refund is
        # enrolment's): that one is answered.
        givers = [eid for eid in (entry["id"], rival) if gives_detail(eid, detail, index)]
        if len(givers) == 1:
            entry, rival = index.entry(givers[0]), None
    if entry is not None and rival:
        return did_you_mean([entry["id"], rival], lang, index)
    if entry is not None and not certain and detail and not gives_detail(entry["id"], detail, index):
        entry = the_one_that_gives(entry, detail, choice, read.focus, index)
    if entry is not None:
        # What to tell of it (a figure, a detail) is what the plainest question asks, when it asks that: in "… there
        # are places where old people can spend the day. How many are there?" the count, not the address.
        if asked != read.focus and (asked_fields(asked) or asked_facet(asked) or asked_unit(asked)):
            # (only a clause of the message: the whole of it may hold the story's "where")
            read = replace(read, focus=asked)
        reply = answer_about(entry, read, lang, index, fact if entry["id"] == topic else None)
        named_it = (entry["id"], True) in index.named(read.focus)
        if reply.kind == "facet_unknown" and not (named_it or certain) and missing_figure(entry, read.focus):
            # "How much did medical insurance pay out?": enrolment has no amount, reimbursement (also backed by
            # the text) has; the resident chooses rather than hearing that the figure is unknown.
            own = choice.evidence.get(entry["id"], 0.0) - choice.shared.get(entry["id"], 0.0)
            able = [
                eid
                for eid in choice.runners
                if choice.evidence.get(eid, 0.0) >= max(settings.SUGGEST_MIN_EVIDENCE, settings.RIVAL_SHARE * own)
                and not missing_figure(index.entry(eid) or {}, read.focus)
            ]
            if able:
                return did_you_mean([*able[:2], entry["id"]], lang, index)
        reply.more, asked_too = also_answered(read, entry["id"], lang, index, today)
        reply.buttons = asked_too + reply.buttons
        if read.courtesy:
            thanks = re.match(r"谢|多谢|感谢|thank", read.courtesy, re.I)
            reply.text = t("courtesy_thanks" if thanks else "courtesy_hello", lang) + reply.text
        return reply
    # "Did you mean" only lists services the text itself points to, never the NLU's guesses alone.
    candidates = [
        c
        for c in [choice.entry_id, *choice.runners]
        if c and choice.evidence.get(c, 0.0) >= settings.SUGGEST_MIN_EVIDENCE
    ]
    if choice.entry_id and choice.score >= settings.SUGGEST_MIN_SCORE and candidates and intent != "out_of_scope":
        return did_you_mean(candidates[:3], lang, index)
    hits = index.search_sentences(strip_field_words(focus), k=1)
    if hits and hits[0].coverage >= settings.SEARCH_MIN_COVERAGE and intent != "out_of_scope":
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
