"""Answers about the town's services, and the report passage behind the last answer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answering import answer_question, report_name
from actions.base import KbAction, SQLAlchemyError
from actions.i18n import t
from kb.db import session_factory
from kb.queries import record_unanswered

UNANSWERED_KINDS = {"dont_know", "out_of_scope", "field_unknown", "did_you_mean", "sentence"}


class AnswerAction(KbAction):
    """Answer the latest question from the KB (abstract; subclasses set how sure the NLU was)."""

    low_confidence = False

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            index = self.index()
            lang = self.language(tracker)
            message = tracker.latest_message or {}
            intent = message.get("intent") or {}
            question = self.question(tracker)
            if question.startswith("/"):
                question = ""  # a button: the intent says it all
            reply = answer_question(
                question,
                lang,
                index,
                intent.get("name"),
                float(intent.get("confidence") or 0.0),
                message.get("intent_ranking") or [],
                tracker.get_slot("topic"),
                low_confidence=self.low_confidence,
            )
            if reply.kind in UNANSWERED_KINDS and question:
                with session_factory()() as session, session.begin():
                    record_unanswered(session, question, lang)
        except SQLAlchemyError as err:
            return self.kb_down(dispatcher, tracker, err)
        return self.send(dispatcher, reply)


class ActionAnswerService(AnswerAction):
    """Answer a question about a service with its figure, year, source and next steps."""

    def name(self) -> str:
        return "action_answer_service"


class ActionTriageLowConfidence(AnswerAction):
    """Unsure or out-of-scope question: answer only if names or search are clear, else offer choices or say so."""

    low_confidence = True

    def name(self) -> str:
        return "action_triage_low_confidence"


class ActionShowSource(KbAction):
    """Quote the report sentence behind the last answer (or say who on staff provided it)."""

    def name(self) -> str:
        return "action_show_source"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            index = self.index()
        except SQLAlchemyError as err:
            return self.kb_down(dispatcher, tracker, err)
        lang = self.language(tracker)
        entry = index.entry(tracker.get_slot("topic"))
        if entry is None:
            dispatcher.utter_message(text=t("no_topic_yet", lang))
            return []
        fact = next((f for f in entry["facts"] if f["key"] == tracker.get_slot("fact")), None) or (
            entry["facts"][0] if entry["facts"] else None
        )
        if fact and fact.get("source") == "staff":
            text = t("source_staff", lang, who=fact.get("created_by", "-"), date=str(fact.get("created_at", ""))[:10])
        elif fact and fact.get("sentence"):
            text = t("source_quote", lang, report=report_name(index, lang), sentence=fact["sentence"])
        else:
            text = t("source_line", lang, report=report_name(index, lang))
        dispatcher.utter_message(text=text)
        return []
