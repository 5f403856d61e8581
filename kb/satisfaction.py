"""Residents' 5-level ratings of a conversation (政务服务"好差评": 非常满意 … 非常不满意) and their follow-up.

The widget offers the rating once a conversation ends or after a handover (POST /api/feedback); a 不满意 or
非常不满意 rating goes on the staff's follow-up list, to be looked into within FOLLOW_UP_DAYS working days (the
national practice for bad ratings of government services), and is marked done with a note: who, when, what.
Working days are Monday to Friday in the town's time zone; public holidays are not in the KB, so a due date
around a holiday is a little early, never late.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import settings
from bot.privacy import mask
from kb.models import DISSATISFIED, RATING_OCCASIONS, SATISFACTION_LEVELS, Satisfaction, utcnow

FOLLOW_UP_DAYS = 15
MAX_NOTE = 2000


class FollowUpError(ValueError):
    """A follow-up refused (no note, not a rating to follow up, already done); in Chinese and English."""


def store_rating(session: Session, session_id: str, level: str, occasion: str, lang: str | None) -> Satisfaction:
    """Store one rating (the gateway has checked the values)."""
    if level not in SATISFACTION_LEVELS or occasion not in RATING_OCCASIONS:
        raise ValueError(f"not a rating: {level!r} at {occasion!r}")
    row = Satisfaction(session=session_id, level=level, occasion=occasion, lang=lang)
    session.add(row)
    session.flush()
    return row


def local_date(moment: datetime) -> date:
    """The day a stored (UTC) time falls on in the town."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(settings.ADMIN_TIMEZONE)).date()


def due_date(rated_at: datetime, days: int = FOLLOW_UP_DAYS) -> date:
    """The day a rating must be followed up by: `days` working days (Monday to Friday) after the day it was given."""
    day, left = local_date(rated_at), days
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def to_follow_up(session: Session, done: bool = False) -> list[Satisfaction]:
    """The 不满意 and 非常不满意 ratings not yet followed up, oldest first (or those done, newest first)."""
    query = select(Satisfaction).where(Satisfaction.level.in_(DISSATISFIED))
    if done:
        return list(
            session.scalars(query.where(Satisfaction.followed_up_at.is_not(None)).order_by(Satisfaction.id.desc()))
        )
    return list(session.scalars(query.where(Satisfaction.followed_up_at.is_(None)).order_by(Satisfaction.id)))


def follow_up(session: Session, rating_id: int, note: str, user: str) -> Satisfaction:
    """Mark a bad rating as followed up: what was done (the note, personal numbers masked), who, when."""
    row = session.get(Satisfaction, rating_id)
    note = mask((note or "").strip())  # a note may quote a resident's number: kept masked, as all they wrote
    if row is None or row.level not in DISSATISFIED:
        raise FollowUpError("没有这条需要回访的评价 / No such rating to follow up")
    if row.followed_up_at is not None:
        raise FollowUpError(f"{row.followed_up_by} 已经回访过了 / {row.followed_up_by} has already followed this up")
    if not note or len(note) > MAX_NOTE:
        raise FollowUpError(f"请写下回访情况(最多 {MAX_NOTE} 字) / Write what was done (at most {MAX_NOTE} characters)")
    row.follow_up_note, row.followed_up_by, row.followed_up_at = note, user, utcnow()
    session.flush()
    return row
