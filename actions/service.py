"""Answers about the town's services, and the report passage behind the last answer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answering import (
    Reply,
    answer_question,
    asked_facet,
    asked_fields,
    asked_unit,
    is_topicless,
    names_a_service,
    report_name,
)
from actions.base import KbAction, SQLAlchemyError
from actions.i18n import t
from actions.understanding import asks, courtesy_rest, understand
from actions.years import members
from bot.language import requested_language, without_language_request
from kb.db import session_factory
from kb.queries import record_unanswered
from kb.search import KnowledgeIndex

UNANSWERED_KINDS = {
    "dont_know",
    "out_of_scope",
    "field_unknown",
    "did_you_mean",
    "sentence",
    "year_unknown",
    "facet_unknown",
}


class AnswerAction(KbAction):
    """Answer the latest question from the KB (abstract; subclasses set how sure the NLU was)."""

    low_confidence = False

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            index = self.index()
            reply = self.reply(tracker, index)
            if reply is None:
                return []
            question = self.question(tracker)
            if reply.kind in UNANSWERED_KINDS and question and not question.startswith("/"):
                # "Not in the KB" about a staff field: which entry and fields, for staff's "what to fill first".
                fields = asked_fields(index.rewrite(question)) if reply.kind == "field_unknown" else []
                with session_factory()() as session, session.begin():
                    record_unanswered(session, question, self.language(tracker), reply.kind, reply.entry_id, fields)
        except SQLAlchemyError as err:
            return self.kb_down(dispatcher, tracker, err)
        return self.send(dispatcher, reply)

    def reply(self, tracker: Tracker, index: KnowledgeIndex) -> Reply | None:
        """The answer to the latest message; a request for a language re-answers the question before it."""
        lang = self.language(tracker)
        message = tracker.latest_message or {}
        question = self.question(tracker)
        if question.startswith("/"):
            question = ""  # a button: the intent says it all
        rest = without_language_request(question)
        if requested_language(question) and asks_its_own(rest, index):
            question = rest  # "answer in Chinese pls: how many disputes were mediated?", "用中文说一下总共有几处"
        elif requested_language(question) and (is_topicless(rest, index) or not names_a_service(rest, index)):
            previous = previous_user_message(tracker, index)
            if previous is None and is_topicless(rest, index):
                return Reply(text=t("language_switched", lang), kind="language")
            if previous is None:  # the words beside the request are the question
                question = rest
            else:
                message = previous
                question = "" if (message.get("text") or "").startswith("/") else message.get("text") or ""
        intent = message.get("intent") or {}
        return answer_question(
            question,
            lang,
            index,
            intent.get("name"),
            float(intent.get("confidence") or 0.0),
            message.get("intent_ranking") or [],
            tracker.get_slot("topic"),
            low_confidence=self.low_confidence,
            fact=tracker.get_slot("fact"),
        )


def previous_user_message(tracker: Tracker, index: KnowledgeIndex | None = None) -> dict[str, Any] | None:
    """The parse data of the resident's message before the latest one that was not only a language request.

    A request that asked a question of its own ("请用中文回答：关停了几家培训机构？") is that question, without
    the request ("And in English?" after it repeats the question, not the request for Chinese)."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    for event in reversed(users[:-1]):
        text = event.get("text") or ""
        if requested_language(text) and not text.startswith("/"):
            if index is None or not asks_its_own(without_language_request(text), index):
                continue
            text = without_language_request(text)
        parse = dict(event.get("parse_data") or {})
        parse["text"] = text
        return parse
    return None


class ActionAnswerService(AnswerAction):
    """Answer a question about a service with its figure, year, source and next steps."""

    def name(self) -> str:
        return "action_answer_service"


class ActionTriageLowConfidence(AnswerAction):
    """Unsure or out-of-scope question: answer only if names or search are clear, else offer choices or say so."""

    low_confidence = True

    def name(self) -> str:
        return "action_triage_low_confidence"


class ActionCourtesy(AnswerAction):
    """Greetings, thanks, goodbyes: the fixed reply of domain.yml, unless the message also asks something
    ("谢谢，那VOC企业整治了几家？"), which is then answered."""

    RESPONSES = {"greet": "utter_greet", "thank": "utter_you_are_welcome", "goodbye": "utter_goodbye"}

    def name(self) -> str:
        return "action_courtesy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        question = self.question(tracker)
        rest = courtesy_rest(question)
        read = understand(rest)
        if rest and (asks(rest) > 0 or requested_language(rest) or read.about_bot or read.personal):
            return await super().run(dispatcher, tracker, domain)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name") or "greet"
        dispatcher.utter_message(response=self.RESPONSES.get(intent, "utter_greet"))
        return []


class ActionShowSource(AnswerAction):
    """Quote the report sentence behind the last answer (or say that town staff provided it, and when).

    Typed text read as a request for the source before anything was answered, that names a service or that
    the search places clearly ("An official is pocketing money. Where can I report this?"), is a question the
    NLU misread: it is answered as one.
    """

    def name(self) -> str:
        return "action_show_source"

    def reply(self, tracker: Tracker, index: KnowledgeIndex) -> Reply | None:
        """The source of the last answer, or the answer to a question misread as a request for one."""
        question = self.question(tracker)
        topic = tracker.get_slot("topic")
        if topic is None and question and not question.startswith("/") and names_a_service(question, index):
            return super().reply(tracker, index)
        lang = self.language(tracker)
        entry = index.entry(topic)
        if entry is None:
            return Reply(text=t("no_topic_yet", lang), kind="no_topic")
        wanted = tracker.get_slot("fact")  # the fact answered last, of whichever year (actions/years.py)
        fact = next((m for f in entry["facts"] for m in members(f) if m["key"] == wanted), None) or (
            entry["facts"][0] if entry["facts"] else None
        )
        if fact and fact.get("source") == "staff":
            text = t("source_staff", lang, date=str(fact.get("created_at", ""))[:10])  # no staff name for residents
        elif fact and fact.get("sentence"):
            report = (fact.get("report_title") or {}).get(lang) or report_name(index, lang)
            text = t("source_quote", lang, report=report, sentence=fact["sentence"])
        else:
            text = t("source_line", lang, report=report_name(index, lang))
        return Reply(text=text, kind="source")


def asks_its_own(rest: str, index: KnowledgeIndex) -> bool:
    """True when the words beside a request for a language ask a question of their own: they name a service, or
    ask for a figure or a detail ("用中文说一下总共有几处"), rather than only asking to repeat ("英文说一下")."""
    if asks(rest) <= 0:
        return False
    return names_a_service(rest, index) or bool(asked_facet(rest) or asked_unit(rest) or asked_fields(rest))
