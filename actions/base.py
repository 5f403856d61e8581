"""Shared base of the actions that answer from the KB (abstract: rasa_sdk does not register it)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.answering import Reply
from actions.i18n import t
from bot.language import DEFAULT, LANGS
from kb.index_cache import current_index
from kb.search import KnowledgeIndex

logger = logging.getLogger(__name__)


class KbAction(Action, ABC):
    """An action that reads the KB and replies in the resident's language."""

    @abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Reply from the current KB; when its database is down, say so instead of failing."""
        try:
            index = self.index()
        except SQLAlchemyError as err:
            return self.kb_down(dispatcher, tracker, err)
        return self.respond(dispatcher, tracker, index)

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, index: KnowledgeIndex
    ) -> list[dict[str, Any]]:
        """The reply, given the KB (subclasses that do not override `run`)."""
        raise NotImplementedError

    def index(self) -> KnowledgeIndex:
        """The current KB index (raises SQLAlchemyError when the database is down)."""
        return current_index()

    @staticmethod
    def question(tracker: Tracker) -> str:
        """The resident's latest message text."""
        return (tracker.latest_message or {}).get("text") or ""

    @staticmethod
    def language(tracker: Tracker) -> str:
        """The conversation's language: the `language` slot, which Rasa sets from each message by the rule of
        bot/language.py before any action runs."""
        lang = tracker.get_slot("language")
        return lang if lang in LANGS else DEFAULT

    @staticmethod
    def send(dispatcher: CollectingDispatcher, reply: Reply) -> list[dict[str, Any]]:
        """Utter a reply (source citation as a custom payload), then its answers to the message's other
        questions, and remember the first one's topic."""
        for said in (reply, *reply.more):
            custom = {"kind": said.kind, "entry": said.entry_id, "source": said.source}
            dispatcher.utter_message(text=said.text, buttons=said.buttons or None, json_message=custom)
        if reply.entry_id:
            return [SlotSet("topic", reply.entry_id), SlotSet("fact", reply.fact_key)]
        return []

    def kb_down(self, dispatcher: CollectingDispatcher, tracker: Tracker, err: Exception) -> list[dict[str, Any]]:
        """Tell the resident the KB is unavailable instead of failing."""
        logger.error("KB unavailable in %s: %s", self.name(), err)
        lang = self.language(tracker)
        dispatcher.utter_message(text=t("kb_unavailable", lang))
        return []


__all__ = ["KbAction", "SQLAlchemyError"]
