"""A resident who wants a person (转人工, any phrasing, both languages, the button).

In the widget (the gateway marks its messages with `handover` metadata), the live handover (kb/handover.py):
during the office hours staff set, and not on a holiday, the reply says the conversation is being put through and
carries `{"handover": {"state": "queue"}}`, which the gateway turns into a place in the staff queue; otherwise it
says when staff answer and carries `{"handover": {"state": "message"}}`: the widget offers to leave a message
(留言), followed by the service-centre route. Elsewhere (WeChat, the REST channel itself), and when the KB database
does not answer, the service-centre route alone: every contact detail staff filled for the centre (the contact
entry named in the KB's metadata), which ones are still missing, and, when its office hours can be read, whether it
is open now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.answering import staff_value, typed_staff_value
from actions.base import KbAction
from actions.i18n import FIELD_NAMES, t, week_text
from bot.office_hours import TOWN_TIME, is_open_now, mentions_holidays, opening_hours, town_now
from kb.db import session_factory
from kb.handover import Hours, current_hours, staff_available
from kb.search import KnowledgeIndex

__all__ = ["TOWN_TIME", "opening_hours", "ActionHumanHandoff", "handoff_lines"]
CONTACT_FIELDS = ("phone", "address", "hours")  # said to be missing when staff left them empty
EXTRA_FIELDS = ("link", "office")  # given when filled
WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def open_now_line(hours_text: str, now: datetime, lang: str) -> str:
    """'Open now' / 'closed now' by the hours staff filled (with the time it was said at), or 'cannot tell'."""
    day = WEEKDAYS[lang][now.weekday()]
    moment = t("town_time", lang, day=day, time=now.strftime("%H:%M"))
    state = is_open_now(hours_text, now)
    if state is None:
        return t("open_unknown", lang)
    line = t("open_now" if state else "closed_now", lang, now=moment)
    return line + (t("holiday_note", lang) if state and mentions_holidays(hours_text) else "")


def handoff_lines(centre: dict[str, Any] | None, lang: str, now: datetime) -> list[str]:
    """The reply's lines: the route to a person, each contact detail staff filled for the centre, the ones
    still missing, and whether it is open now."""
    lines = [t("handoff", lang)]
    filled = {
        name: value for name in CONTACT_FIELDS + EXTRA_FIELDS if centre and (value := staff_value(centre, name, lang))
    }
    missing = [name for name in CONTACT_FIELDS if name not in filled]
    if not any(name in filled for name in CONTACT_FIELDS):
        lines.append(t("handoff_no_contact", lang))  # none of phone, address, hours: as before
        missing = []
    lines += [t("centre_contact", lang, field=FIELD_NAMES[name][lang], value=value) for name, value in filled.items()]
    if missing:
        names = [FIELD_NAMES[name][lang] for name in missing]
        joined = (
            "、".join(names)
            if lang == "zh"
            else ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
        )
        lines.append(t("handoff_missing", lang, fields=joined))
    if "hours" in filled and centre:
        lines.append(open_now_line(typed_staff_value(centre, "hours", lang) or "", now, lang))
    return lines


class ActionHumanHandoff(KbAction):
    """Point to the Public Service Centre and the Changtong window, with staff-provided contacts if any."""

    def name(self) -> str:
        return "action_human_handoff"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, index: KnowledgeIndex
    ) -> list[dict[str, Any]]:
        lang = self.language(tracker)
        centre = index.entry(index.contact_entry) if index.contact_entry else None
        now = town_now()
        hours = self.live_hours(tracker)
        if hours is not None:
            live = staff_available(hours, now)
            text = "\n".join(live_lines(hours, centre, lang, now, live))
            custom = {"kind": "handover", "entry": None, "source": None}
            dispatcher.utter_message(
                text=text, json_message={**custom, "handover": {"state": "queue" if live else "message"}}
            )
            return []
        text = "\n".join(handoff_lines(centre, lang, now))
        # kind "handoff": the widget makes the staff's phone numbers in it tap-to-call links
        dispatcher.utter_message(text=text, json_message={"kind": "handoff", "entry": None, "source": None})
        return []

    @staticmethod
    def live_hours(tracker: Tracker) -> Hours | None:
        """The handover's settings when the message came from the widget (which can hand over); else None."""
        metadata = (tracker.latest_message or {}).get("metadata") or {}
        if not isinstance(metadata, dict) or metadata.get("handover") is not True:
            return None
        try:
            with session_factory()() as session:
                return current_hours(session)
        except SQLAlchemyError:
            return None  # the KB database does not answer: the service-centre route, which needs no queue


def live_lines(hours: Hours, centre: dict[str, Any] | None, lang: str, now: datetime, live: bool) -> list[str]:
    """The widget's reply: being put through; or when staff answer (or a holiday), then the service-centre route."""
    if live:
        return [t("handover_queue", lang)]
    holiday = now.date() in hours.holidays
    first = t("handover_holiday", lang) if holiday else t("handover_closed", lang, hours=week_text(hours.week, lang))
    note = [t("handover_hours_note", lang, note=hours.note)] if hours.note else []
    return [first, *note, *handoff_lines(centre, lang, now)]
