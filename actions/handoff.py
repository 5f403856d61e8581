"""A resident who wants a person gets the service-centre route, with its contacts when staff filled them."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answering import staff_value
from actions.base import KbAction
from actions.i18n import FIELD_NAMES, t
from kb.search import KnowledgeIndex


class ActionHumanHandoff(KbAction):
    """Point to the Public Service Centre and the Changtong window, with staff-provided contacts if any."""

    def name(self) -> str:
        return "action_human_handoff"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, index: KnowledgeIndex
    ) -> list[dict[str, Any]]:
        lang = self.language(tracker)
        lines = [t("handoff", lang)]
        centre = index.entry(index.contact_entry)
        contacts = [
            t("centre_contact", lang, field=FIELD_NAMES[name][lang], value=value)
            for name in ("phone", "address", "hours")
            if centre and (value := staff_value(centre, name, lang))
        ]
        lines.extend(contacts or [t("handoff_no_contact", lang)])
        dispatcher.utter_message(text="\n".join(lines))
        return []
