"""The start page a town leader looks at (charts of the last 30 days, kb.stats), its CSV, and "what to fill first"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqladmin import expose
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from bot.web.admin import charts
from bot.web.admin.base import StaffPage, page, read
from bot.web.admin.texts import (
    HANDOVER_NUMBERS,
    LANGUAGES,
    NO_TOPIC,
    OUTCOMES,
    SATISFACTION,
    STAFF_FIELDS,
    TOPICS,
)
from kb import stats
from kb.models import DISSATISFIED, Entry, Revision, Satisfaction
from kb.questions import groups
from kb.retention import tracker_engine

UNREACHABLE = (
    "对话数据库暂时连不上,对话的数字暂缺。 / The conversation database does not answer: its numbers are missing."
)


def _board(session: Session) -> tuple[stats.Dashboard, str | None]:
    """The numbers, and why the conversations' ones are missing (their database does not answer), if they are."""
    try:
        return stats.dashboard(session, tracker_engine()), None
    except SQLAlchemyError:
        return stats.dashboard(session, None), UNREACHABLE


def csv_labels() -> dict[str, dict[str, str]]:
    """The CSV's item names, in the admin's words."""
    topics = {**TOPICS, "": NO_TOPIC}
    return {
        "outcome": {**OUTCOMES, "handoff": "转人工 Handover"},
        "thumbs_up": topics,
        "thumbs_down": topics,
        "language": LANGUAGES,
        "satisfaction": SATISFACTION,
        "handover": HANDOVER_NUMBERS,
    }


def dashboard_context(session: Session) -> dict[str, Any]:
    """Everything the start page shows: the numbers, their charts, what to do next, recent changes."""
    board, error = _board(session)
    days = [f"{d.month}/{d.day}" for d, _ in board.days]
    answered = sum(board.outcomes.values())
    outcome_rows = [(OUTCOMES[name], n) for name, n in board.outcomes.items()]
    satisfaction_rows = [(SATISFACTION[level], n) for level, n in board.satisfaction.items()]
    return {
        "board": board,
        "tracker_error": error,
        "answered_share": board.outcomes["answered"] / answered if answered else None,
        "outcome_rows": outcome_rows,
        "satisfaction_rows": satisfaction_rows,
        "chart_days": charts.columns([n for _, n in board.days], days, "近30天每天的提问 Questions per day", every=5),
        "chart_outcomes": charts.shares(outcome_rows, "回答情况 How questions were answered"),
        "chart_topics": charts.pairs(
            [(TOPICS.get(t, t) if t else NO_TOPIC, up, down) for t, up, down in board.topics[:8]],
            "各主题的 👍/👎 per topic",
        ),
        "chart_unanswered": charts.bars(
            [(g.lead.text, g.count) for g in board.top_unanswered[:8]], "问得最多、没答上的 Top unanswered"
        ),
        "chart_languages": charts.bars(
            [(LANGUAGES[lang], n) for lang, n in board.languages.items()], "提问的语言 Languages", charts.BLUE, 160
        ),
        "chart_hours": charts.columns(
            board.hours, [f"{h}" for h in range(24)], "一天中各小时的提问 Busiest hours", every=3
        ),
        "chart_satisfaction": charts.shares(satisfaction_rows, "满意度 Satisfaction"),
        "gaps": stats.fill_first(session, 5),
        "open_groups": len(groups(session)),
        "to_follow_up": session.scalar(
            select(func.count(Satisfaction.id)).where(
                Satisfaction.level.in_(DISSATISFIED), Satisfaction.followed_up_at.is_(None)
            )
        ),
        "entries_in_use": session.scalar(select(func.count(Entry.id)).where(Entry.retired.is_(False))),
        "recent": session.scalars(select(Revision).order_by(Revision.id.desc()).limit(6)).all(),
        "staff_field_names": STAFF_FIELDS,
        "handover_numbers": [(name, label, getattr(board.handover, name)) for name, label in HANDOVER_NUMBERS.items()],
        "generated": datetime.now(),
    }


class StatsView(StaffPage, title="数字 Numbers"):
    """The start page's numbers as CSV (the page itself is the admin's index: bot.web.admin.StaffAdmin)."""

    def is_visible(self, request: Request) -> bool:
        """Not in the menu: the start page links to it."""
        return False

    @expose("/dashboard.csv", methods=["GET"], identity="dashboard-csv")
    async def csv(self, request: Request) -> Response:
        """The same numbers as the charts, one row each."""
        board, _ = await read(self, _board)
        name = f"zhitang-numbers-{datetime.now():%Y%m%d}.csv"
        return Response(
            stats.csv_text(board, csv_labels()),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


def _fill_first(session: Session) -> dict[str, Any]:
    return {"gaps": stats.fill_first(session)}


class FillFirstView(StaffPage, title="先填这些 What to fill first", icon="fa-solid fa-list-ol"):
    """Entry × staff field that residents asked for and the bot had to say "not in the KB", most asked first."""

    @expose("/fill-first", methods=["GET"], identity="fill-first")
    async def fill_first(self, request: Request) -> Response:
        """The list; each line leads to the entry's form, at the field."""
        return await page(self, request, "admin/fill_first.html", **await read(self, _fill_first))
