"""Live handover to town staff (转人工): the queue, who has a conversation, the messages both ways, and the messages
residents leave (留言) when nobody can take it.

All state lives in the KB database (tables handover, handover_event, resident_message, handover_settings), so any
gateway, replica or restarted process carries on a conversation another one started. Changes that two staff
members (or a staff member and the resident) may race for are conditional UPDATEs (`... WHERE state = 'waiting'
AND taken_by IS NULL`): exactly one wins, whatever the database's isolation level. Every change writes an event;
the event ids are the cursor the widget's and the staff page's live updates resume from.

States: waiting (in the queue) -> active (a staff member took it) -> closed (by staff); waiting or active ->
cancelled (by the resident); waiting -> expired (nobody took it within the wait minutes: the resident is offered
to leave a message). Residents' and staff's messages are masked (bot/privacy.py) before they are stored; a
callback number left with explicit consent is the one thing kept as given, shown only on the staff's page of that
message (`masked_phone` everywhere else).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot import settings
from bot.office_hours import TOWN_TIME, Week, from_json, open_at, opening_hours, to_json
from bot.privacy import mask
from kb.models import (
    HANDOVER_OPEN,
    Handover,
    HandoverEvent,
    HandoverSettings,
    ResidentMessage,
    StaffUser,
    utcnow,
)

MAX_TEXT = 1000  # one message, either way
MAX_LEFT_MESSAGE = 2000  # a message left for staff
MAX_NOTE = 200  # staff's note on the office hours
RECENT_TAKEN = 20  # handovers the expected wait is averaged over
AGENT_ROLES = ("editor", "admin")  # who may answer residents (the admin's 转人工 page)
TERMINAL = ("closed", "cancelled", "expired")
# A callback number: a mobile, or a landline with or without its area code (digits, spaces, dashes, +86).
_PHONE = re.compile(r"(?:\+?86[ -]?)?(?:1[3-9]\d[ -]?\d{4}[ -]?\d{4}|0\d{2,3}[ -]?\d{7,8}|\d{7,8})")


class HandoverError(ValueError):
    """A change refused (already taken, not yours, closed, bad input); the message in Chinese and English."""

    def __init__(self, message: str, status: int = 409, key: str | None = None, **values: object):
        super().__init__(message)
        self.status, self.key, self.values = status, key, values  # key: the gateway's text for residents


# ---------- settings: office hours, holidays, minutes before a message is offered ----------


@dataclass(frozen=True)
class Hours:
    """The handover's settings in force: staff's, else the ZHITANG_* defaults. The weekly hours are structured
    (replies say them in the resident's language); `note` is free text from staff, shown labelled as written."""

    week: Week
    holidays: frozenset[date]
    wait_minutes: int
    note: str = ""


def parse_holidays(text: str) -> frozenset[date]:
    """ISO dates separated by commas, spaces or lines; ValueError names the first one that is not a date."""
    days = set()
    for word in re.split(r"[\s,，;；、]+", text or ""):
        if word:
            try:
                days.add(date.fromisoformat(word))
            except ValueError as err:
                raise ValueError(f"不是日期 / not a date (YYYY-MM-DD): {word}") from err
    return frozenset(days)


def default_week() -> tuple[Week, str]:
    """ZHITANG_OFFICE_HOURS read into weekly hours; a text that cannot be read means no live hours, and is kept
    as the note (shown as written, never as if translated)."""
    week = opening_hours(settings.OFFICE_HOURS)
    return (week, "") if week is not None else ({}, settings.OFFICE_HOURS)


def current_hours(session: Session) -> Hours:
    """The settings staff saved, each empty one taken from the environment."""
    row = session.get(HandoverSettings, 1)
    week, note = default_week()
    if row is not None and row.weekly_hours is not None:
        try:
            week, note = from_json(row.weekly_hours), ""
        except ValueError:
            week = {}  # stored hours that cannot be read: nobody answers live (a message can always be left)
    if row is not None and row.hours_note:
        note = row.hours_note
    holidays = (row.holidays if row and row.holidays is not None else None) or settings.HOLIDAYS
    minutes = (row.wait_minutes if row else None) or settings.HANDOVER_WAIT_MINUTES
    try:
        days = parse_holidays(holidays)
    except ValueError:
        days = frozenset()  # a bad default in the environment: no holiday known (staff's are checked on save)
    return Hours(week, days, minutes, note)


def save_hours(
    session: Session, office_hours: str, holidays: str, wait_minutes: int, user: str, note: str = ""
) -> HandoverSettings:
    """Staff set the settings; the hours they type are read into weekly hours and kept only structured. Refused
    when the hours cannot be read, a holiday is not a date, or the minutes are not 1..240. Empty hours or holidays
    go back to the defaults; the note is kept as written."""
    office_hours, holidays, note = office_hours.strip(), holidays.strip(), note.strip()
    week = opening_hours(office_hours) if office_hours else None
    if office_hours and not week:
        raise HandoverError(
            "读不懂这段工作时间,请写成“周一至周五 8:30-12:00，13:00-16:30” / The hours cannot be read: write them as "
            "“Mon-Fri 8:30-12:00, 13:00-16:30”",
            400,
        )
    if len(note) > MAX_NOTE:
        raise HandoverError(f"备注最多 {MAX_NOTE} 字 / The note has at most {MAX_NOTE} characters", 400)
    try:
        days = parse_holidays(holidays)
    except ValueError as err:
        raise HandoverError(str(err), 400) from err
    if not 1 <= wait_minutes <= 240:
        raise HandoverError("等待分钟数应在 1 到 240 之间 / The minutes must be between 1 and 240", 400)
    row = session.get(HandoverSettings, 1) or HandoverSettings(id=1)
    row.weekly_hours = to_json(week) if week else None
    row.hours_note = note or None
    row.holidays = "\n".join(sorted(d.isoformat() for d in days)) or None
    row.wait_minutes, row.updated_by, row.updated_at = wait_minutes, user, utcnow()
    session.add(row)
    session.flush()
    return row


def staff_available(hours: Hours, now: datetime) -> bool:
    """Whether staff answer now: within the office hours (town time), not on a holiday."""
    local = now.astimezone(TOWN_TIME)
    return local.date() not in hours.holidays and open_at(hours.week, local)


# ---------- the queue ----------


def _event(session: Session, handover: Handover, kind: str, text: str, author: str | None = None) -> HandoverEvent:
    event = HandoverEvent(handover_id=handover.id, session=handover.session, kind=kind, text=text, author=author)
    session.add(event)
    session.flush()
    return event


def open_handover_of(session: Session, session_id: str) -> Handover | None:
    """The conversation's handover that is waiting or active, if any."""
    return session.scalar(
        sa.select(Handover)
        .where(Handover.session == session_id, Handover.state.in_(HANDOVER_OPEN))
        .order_by(Handover.id.desc())
        .limit(1)
    )


# A resident's message may concern the desk when the conversation has an open handover, or some handover anywhere
# is waiting (and may be overdue, for expire_overdue). Built once: the gateway runs it on every message.
_CONCERNED = (
    sa.select(Handover.id)
    .where(
        sa.or_(
            Handover.state == "waiting",
            sa.and_(Handover.session == sa.bindparam("session_id"), Handover.state.in_(HANDOVER_OPEN)),
        )
    )
    .limit(1)
)


def desk_concerned(connection: sa.Connection | Session, session_id: str) -> bool:
    """Whether a resident's message may concern the desk (see _CONCERNED): one indexed query. When False,
    expire_overdue and open_handover_of would find nothing, so a caller may skip them (the gateway does, on every
    message: most conversations never reach staff, and the queue is mostly empty)."""
    return connection.execute(_CONCERNED, {"session_id": session_id}).first() is not None


def latest_handover_of(session: Session, session_id: str) -> Handover | None:
    """The conversation's latest handover, in any state."""
    return session.scalar(
        sa.select(Handover).where(Handover.session == session_id).order_by(Handover.id.desc()).limit(1)
    )


def request_handover(session: Session, session_id: str, lang: str) -> Handover:
    """Put the conversation in the queue (asking again while it is waiting or active keeps its place)."""
    found = open_handover_of(session, session_id)
    if found is not None:
        return found
    handover = Handover(session=session_id, lang=lang if lang in ("zh", "en") else "zh", state="waiting")
    session.add(handover)
    session.flush()
    _event(session, handover, "state", "waiting")
    return handover


def position(session: Session, handover: Handover) -> int:
    """Its place in the queue (1: next), 0 when it is not waiting."""
    if handover.state != "waiting":
        return 0
    ahead = session.scalar(sa.select(sa.func.count()).where(Handover.state == "waiting", Handover.id < handover.id))
    return int(ahead or 0) + 1


def expected_wait(session: Session, place: int, hours: Hours) -> tuple[int, bool]:
    """(minutes, measured): the average time the last RECENT_TAKEN taken handovers waited, times the place in the
    queue, at most the wait minutes; with nothing measured yet, the wait minutes as an upper bound."""
    rows = session.execute(
        sa.select(Handover.created_at, Handover.taken_at)
        .where(Handover.taken_at.is_not(None))
        .order_by(Handover.id.desc())
        .limit(RECENT_TAKEN)
    ).all()
    waits = [(_aware(taken) - _aware(created)).total_seconds() for created, taken in rows]
    if not waits:
        return hours.wait_minutes, False
    minutes = math.ceil(place * (sum(waits) / len(waits)) / 60)
    return max(1, min(minutes, hours.wait_minutes)), True


def _aware(moment: datetime) -> datetime:
    """A stored time as UTC (SQLite gives it back without its zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _change(session: Session, handover_id: int, wanted: sa.ColumnElement[bool], **values: object) -> bool:
    """UPDATE handover SET values WHERE id = handover_id AND wanted; whether this call made the change."""
    result = session.execute(
        sa.update(Handover)
        .where(Handover.id == handover_id, wanted)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def _get(session: Session, handover_id: int) -> Handover:
    handover = session.get(Handover, handover_id, populate_existing=True)
    if handover is None:
        raise HandoverError("没有这个对话 / No such conversation", 404)
    return handover


def expire_overdue(session: Session, hours: Hours, now: datetime | None = None) -> list[int]:
    """Handovers waiting longer than the wait minutes become expired (the resident is offered to leave a message);
    the ids this call expired. Safe from several gateways at once: each is expired by one of them."""
    cutoff = (now or utcnow()) - timedelta(minutes=hours.wait_minutes)
    overdue = session.scalars(
        sa.select(Handover.id).where(Handover.state == "waiting", Handover.created_at < cutoff)
    ).all()
    expired = []
    for handover_id in overdue:
        if _change(session, handover_id, Handover.state == "waiting", state="expired", ended_at=utcnow()):
            _event(session, _get(session, handover_id), "state", "expired")
            expired.append(handover_id)
    return expired


def take(session: Session, handover_id: int, user: str) -> Handover:
    """A staff member takes a waiting conversation; refused when another one took it first (or it ended)."""
    taken = _change(
        session,
        handover_id,
        sa.and_(Handover.state == "waiting", Handover.taken_by.is_(None)),
        state="active",
        taken_by=user,
        taken_at=utcnow(),
    )
    handover = _get(session, handover_id)
    if not taken:
        if handover.state == "active":
            raise HandoverError(f"{handover.taken_by} 已经接了这个对话 / {handover.taken_by} has already taken it")
        raise HandoverError("这个对话已不在排队 / This conversation is no longer waiting")
    _event(session, handover, "state", "active", user)
    return handover


def _agent(session: Session, username: str) -> StaffUser:
    agent = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
    if agent is None or not agent.active or agent.role not in AGENT_ROLES:
        raise HandoverError("只能转给在用的编辑或管理员 / Transfer only to an active editor or admin", 400)
    return agent


def transfer(session: Session, handover_id: int, user: str, to_user: str) -> Handover:
    """The staff member who has a conversation hands it to another editor or admin (the resident sees no name)."""
    agent = _agent(session, to_user)
    if agent.username == user:
        raise HandoverError("不能转给自己 / You already have it", 400)
    if not _change(
        session, handover_id, sa.and_(Handover.state == "active", Handover.taken_by == user), taken_by=agent.username
    ):
        _get(session, handover_id)
        raise HandoverError("只有接待人可以转交,且对话须在进行中 / Only whoever has the conversation can transfer it")
    handover = _get(session, handover_id)
    _event(session, handover, "state", "transferred", user)
    return handover


def close(session: Session, handover_id: int, user: str) -> Handover:
    """The staff member who has the conversation ends it; the bot answers the resident again."""
    if not _change(
        session,
        handover_id,
        sa.and_(Handover.state == "active", Handover.taken_by == user),
        state="closed",
        ended_at=utcnow(),
    ):
        _get(session, handover_id)
        raise HandoverError("只有接待人可以结束进行中的对话 / Only whoever has the conversation can close it")
    handover = _get(session, handover_id)
    _event(session, handover, "state", "closed", user)
    return handover


def cancel(session: Session, session_id: str) -> Handover | None:
    """The resident leaves the queue or ends the conversation with staff; None when nothing was open."""
    found = open_handover_of(session, session_id)
    if found is None:
        return None
    if not _change(session, found.id, Handover.state.in_(HANDOVER_OPEN), state="cancelled", ended_at=utcnow()):
        return None
    handover = _get(session, found.id)
    _event(session, handover, "state", "cancelled")
    return handover


def check_text(text: object, limit: int = MAX_TEXT) -> str:
    """A message's text, whitespace folded, masked; HandoverError (400) when empty, too long or not text."""
    if not isinstance(text, str) or not text.strip():
        raise HandoverError("请写下内容 / Write a message first", 400, "handover_empty")
    folded = "\n".join(" ".join(line.split()) for line in text.strip().splitlines())
    if len(folded) > limit:
        raise HandoverError(f"最多 {limit} 字 / At most {limit} characters", 400, "handover_too_long", limit=limit)
    return mask(folded)


def resident_says(session: Session, handover: Handover, text: str) -> HandoverEvent:
    """A resident's message while the conversation is waiting or with staff (masked)."""
    if handover.state not in HANDOVER_OPEN:
        raise HandoverError("这个对话已结束 / This conversation has ended")
    return _event(session, handover, "resident", check_text(text))


def staff_says(session: Session, handover_id: int, user: str, text: str) -> HandoverEvent:
    """A reply from the staff member who has the conversation (masked like residents' words)."""
    handover = _get(session, handover_id)
    if handover.state != "active" or handover.taken_by != user:
        raise HandoverError("先接入这个对话再回复 / Take the conversation before replying")
    return _event(session, handover, "staff", check_text(text), user)


def events_after(session: Session, session_id: str, after: int, limit: int = 100) -> list[HandoverEvent]:
    """The conversation's handover events after the cursor, oldest first."""
    return list(
        session.scalars(
            sa.select(HandoverEvent)
            .where(HandoverEvent.session == session_id, HandoverEvent.id > after)
            .order_by(HandoverEvent.id)
            .limit(limit)
        )
    )


def last_event_id(session: Session) -> int:
    """The newest event's id (where the staff page's live updates start)."""
    return int(session.scalar(sa.select(sa.func.max(HandoverEvent.id))) or 0)


def handovers_to_answer(session: Session) -> list[Handover]:
    """Waiting conversations (oldest first, the queue's order), then the active ones."""
    rows = session.scalars(sa.select(Handover).where(Handover.state.in_(HANDOVER_OPEN)).order_by(Handover.id)).all()
    return sorted(rows, key=lambda h: (h.state != "waiting", h.id))


def history(session: Session, handover_id: int) -> list[HandoverEvent]:
    """Every event of one handover, in order."""
    return list(
        session.scalars(
            sa.select(HandoverEvent).where(HandoverEvent.handover_id == handover_id).order_by(HandoverEvent.id)
        )
    )


# ---------- messages left for staff (留言) ----------


def check_phone(phone: object, consent: object) -> str | None:
    """A callback number, only with explicit consent (HandoverError 400 otherwise); None when none was given."""
    if phone is None or (isinstance(phone, str) and not phone.strip()):
        return None
    if not isinstance(phone, str) or not _PHONE.fullmatch(phone.strip()):
        raise HandoverError("请填写正确的电话号码 / Enter a valid phone number", 400, "bad_phone")
    if consent is not True:
        raise HandoverError(
            "留电话需要您同意工作人员回电 / A number is kept only if you agree to be called back", 400, "no_consent"
        )
    return re.sub(r"[ -]", "", phone.strip())


def masked_phone(phone: str | None) -> str:
    """The callback number as everyone but the staff page of that message sees it (138****5678)."""
    if not phone:
        return ""
    digits = phone.lstrip("+")
    return digits[:3] + "*" * max(0, len(digits) - 7) + digits[-4:] if len(digits) > 7 else "*" * len(digits)


def leave_message(
    session: Session, session_id: str, lang: str, text: object, phone: object = None, consent: object = False
) -> ResidentMessage:
    """A message for staff (masked), with a callback number when the resident gave one and agreed to a call."""
    number = check_phone(phone, consent)
    row = ResidentMessage(
        session=session_id,
        lang=lang if lang in ("zh", "en") else "zh",
        text=check_text(text, MAX_LEFT_MESSAGE),
        phone=number,
        consent_at=utcnow() if number else None,
    )
    session.add(row)
    session.flush()
    return row


def messages_left(session: Session, done: bool = False) -> list[ResidentMessage]:
    """Messages to answer, oldest first (or those done, newest first)."""
    query = sa.select(ResidentMessage)
    if done:
        return list(
            session.scalars(query.where(ResidentMessage.done_at.is_not(None)).order_by(ResidentMessage.id.desc()))
        )
    return list(session.scalars(query.where(ResidentMessage.done_at.is_(None)).order_by(ResidentMessage.id)))


def mark_done(session: Session, message_id: int, user: str) -> ResidentMessage:
    """A staff member has dealt with a message (who, when)."""
    if not _change_message(session, message_id, user):
        raise HandoverError("没有这条留言,或已处理 / No such message, or already done")
    row = session.get(ResidentMessage, message_id, populate_existing=True)
    assert row is not None
    return row


def _change_message(session: Session, message_id: int, user: str) -> bool:
    result = session.execute(
        sa.update(ResidentMessage)
        .where(ResidentMessage.id == message_id, ResidentMessage.done_at.is_(None))
        .values(done_by=user, done_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


# ---------- retention (kb/retention.py) ----------


def purge_before(session: Session, cutoff: datetime) -> int:
    """Delete handovers (with their events) and messages left older than the cutoff; how many rows."""
    old = sa.select(Handover.id).where(Handover.created_at < cutoff)
    count = _rows(session.execute(sa.delete(HandoverEvent).where(HandoverEvent.handover_id.in_(old))))
    count += _rows(session.execute(sa.delete(Handover).where(Handover.created_at < cutoff)))
    count += _rows(session.execute(sa.delete(ResidentMessage).where(ResidentMessage.created_at < cutoff)))
    return count


def forget_session(session: Session, session_id: str) -> int:
    """Delete everything of one conversation's handovers and messages left; how many rows."""
    count = _rows(session.execute(sa.delete(HandoverEvent).where(HandoverEvent.session == session_id)))
    count += _rows(session.execute(sa.delete(Handover).where(Handover.session == session_id)))
    count += _rows(session.execute(sa.delete(ResidentMessage).where(ResidentMessage.session == session_id)))
    return count


def _rows(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
