"""The language slot, filled at every message (a custom slot mapping), so fixed replies follow it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KbAction, SQLAlchemyError


class ActionDetectLanguage(KbAction):
    """Set the `language` slot from the latest message (Chinese unless only English is left)."""

    def name(self) -> str:
        return "action_detect_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            index = self.index()
        except SQLAlchemyError:
            index = None
        lang = self.language(tracker, index)
        return [] if tracker.get_slot("language") == lang else [SlotSet("language", lang)]
