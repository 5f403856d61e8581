"""SQLAlchemy 2.0 models of the knowledge base (entries, facts, revisions, report sentences, questions, staff)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, mapped_column, relationship, validates

from kb.shape import STAFF_FIELD_NAMES, EntryData, FactKind, Source

BUILD_USER = "report-build"
ROLES = ("viewer", "editor", "admin")  # viewers read; editors change entries; admins also manage staff accounts


def utcnow() -> datetime:
    """Timezone-aware now, for timestamps."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of every KB table."""

    # Named constraints, so that Alembic's batch migrations on SQLite can find them later.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Entry(Base):
    """A resident-facing service or fact from the report, with staff-only details."""

    __tablename__ = "entry"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), index=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    summary_zh: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")
    aliases_zh: Mapped[list[str]] = mapped_column(default=list)
    aliases_en: Mapped[list[str]] = mapped_column(default=list)
    # How residents describe the need without naming the service ("孩子放暑假没人带"): searched, and NLU examples.
    situations_zh: Mapped[list[str]] = mapped_column(default=list)
    situations_en: Mapped[list[str]] = mapped_column(default=list)
    related: Mapped[list[str]] = mapped_column(default=list)
    # Staff-only fields, `<name>_zh` and `<name>_en` for each of kb.shape.STAFF_FIELDS: empty until staff
    # fill them; the bot never invents them. Read them with `staff_field(name, lang)`.
    for _name in STAFF_FIELD_NAMES:
        vars()[f"{_name}_zh"] = mapped_column(Text, nullable=True)
        vars()[f"{_name}_en"] = mapped_column(Text, nullable=True)
    del _name
    # Bookkeeping for the staff admin: optimistic locking, who/when, soft delete.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[Source] = mapped_column(String(16), default="report")
    staff_edited: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[str] = mapped_column(String(100), default=BUILD_USER)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, index=True)

    facts: Mapped[list[Fact]] = relationship(
        back_populates="entry", order_by="Fact.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": revision}

    def __str__(self) -> str:
        return f"{self.title_zh} / {self.title_en} ({self.id})"

    def title(self, lang: str) -> str:
        """Title in the given language."""
        return self.title_zh if lang == "zh" else self.title_en

    def summary(self, lang: str) -> str:
        """Summary in the given language."""
        return self.summary_zh if lang == "zh" else self.summary_en

    def staff_field(self, name: str, lang: str) -> str | None:
        """A staff-only field in the language asked, falling back to the other language."""
        other = "en" if lang == "zh" else "zh"
        value = getattr(self, f"{name}_{lang}") or getattr(self, f"{name}_{other}")
        return value.strip() if value and value.strip() else None


def staff_column(name: str, lang: str) -> InstrumentedAttribute[str | None]:
    """The column of a staff field in one language (`Entry.office_zh` …). Entry's loop declares these columns,
    so type checkers cannot see them as attributes: code that names one reads it here."""
    return getattr(Entry, f"{name}_{lang}")


class Fact(Base):
    """One figure or statement of an entry, in both languages, with its report quote."""

    __tablename__ = "fact"
    __table_args__ = (UniqueConstraint("entry_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("entry.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[FactKind] = mapped_column(String(16), default="statement")
    figure: Mapped[str | None] = mapped_column(String(64))
    figure_en: Mapped[str | None] = mapped_column(String(64))
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    keywords_zh: Mapped[list[str]] = mapped_column(default=list)
    keywords_en: Mapped[list[str]] = mapped_column(default=list)
    quote: Mapped[str | None] = mapped_column(Text)  # verbatim from the report; None for staff facts
    sentence: Mapped[str | None] = mapped_column(Text)  # the whole report sentence holding the quote
    # The report a report fact quotes (its quote is checked against that report's sentences); None for staff facts.
    report_year: Mapped[int | None] = mapped_column(ForeignKey("report.year"), index=True)
    # Facts of one entry with the same series are one figure in different years (the newest leads); None: its key.
    series: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[Source] = mapped_column(String(16), default="report")
    created_by: Mapped[str] = mapped_column(String(100), default=BUILD_USER)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    entry: Mapped[Entry] = relationship(back_populates="facts")

    def __str__(self) -> str:
        return f"{self.entry_id}.{self.key}"

    def text(self, lang: str) -> str:
        """Fact text in the given language."""
        return self.text_zh if lang == "zh" else self.text_en


class Revision(Base):
    """Who changed an entry, when, and what it was before and after."""

    __tablename__ = "revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # create | update | retire | restore
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    before: Mapped[EntryData | None] = mapped_column(JSON)  # the entry in the YAML shape (kb.build.to_dict)
    after: Mapped[EntryData | None] = mapped_column(JSON)

    # The entry, for its title where staff read the history (loaded with the revision; never written through).
    entry: Mapped[Entry | None] = relationship(
        primaryjoin="foreign(Revision.entry_id) == Entry.id", viewonly=True, lazy="selectin"
    )


class ReportSentence(Base):
    """One sentence of a work report: its facts' quotes are checked against them, and the newest report's are
    searched when no entry matches."""

    __tablename__ = "report_sentence"
    __table_args__ = (UniqueConstraint("report_year", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_year: Mapped[int | None] = mapped_column(ForeignKey("report.year"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class UnansweredQuestion(Base):
    """A resident question the bot could not answer, counted, for staff to answer, attach or dismiss.

    Questions with the same `group_key` (kb.questions.question_key: the words without case, punctuation,
    spaces, traditional characters and question particles) are one group in the admin's queue.
    """

    __tablename__ = "unanswered_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(500), unique=True)
    lang: Mapped[str] = mapped_column(String(2))
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    entry_id: Mapped[str | None] = mapped_column(String(64))  # set when staff attach it or write its answer
    group_key: Mapped[str | None] = mapped_column(String(500), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))  # what the bot replied last (actions/service.py)
    # Dismissed by staff (off-topic, spam, duplicate): off the queue, kept with who and when; asked again, it
    # is counted here and stays off.
    dismissed_reason: Mapped[str | None] = mapped_column(String(16))
    dismissed_by: Mapped[str | None] = mapped_column(String(100))
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


DISMISS_REASONS = ("off_topic", "spam", "duplicate")


class FieldGap(Base):
    """How often residents asked for a staff field of an entry that nobody had filled ("not in the KB"): what
    staff should fill first. Counts only, nothing a resident wrote."""

    __tablename__ = "field_gap"
    __table_args__ = (UniqueConstraint("entry_id", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class KbState(Base):
    """A single row whose counter moves on every KB change, so caches know when to reload; and the entry
    residents are sent to for a person (from kb/source/report.yml)."""

    __tablename__ = "kb_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    contact_entry: Mapped[str | None] = mapped_column(String(64))


class Report(Base):
    """A work report the KB's facts quote: its year, title, publication date and text (the newest year leads
    the answers; each report fact names its report by year)."""

    __tablename__ = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published: Mapped[date | None] = mapped_column(Date)  # when the town published it, if known
    text: Mapped[str | None] = mapped_column(Text)  # the whole text, verbatim (a re-import must be the same)
    added_by: Mapped[str | None] = mapped_column(String(100))  # the build, or the staff member who accepted it


class Feedback(Base):
    """A resident's 👍/👎 on one of the bot's answers, for staff."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    session: Mapped[str] = mapped_column(String(64), index=True)
    rating: Mapped[str] = mapped_column(String(4))  # up | down
    question: Mapped[str | None] = mapped_column(String(500))
    answer: Mapped[str | None] = mapped_column(Text)
    entry_id: Mapped[str | None] = mapped_column(String(64), index=True)
    lang: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    # The entry answered, for its title where staff read the feedback (loaded with the row; never written through).
    entry: Mapped[Entry | None] = relationship(
        primaryjoin="foreign(Feedback.entry_id) == Entry.id", viewonly=True, lazy="selectin"
    )


# The government-service rating (政务服务"好差评"), best first; the last two are followed up by staff.
SATISFACTION_LEVELS = ("very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied")
DISSATISFIED = ("dissatisfied", "very_dissatisfied")
RATING_OCCASIONS = ("end", "handoff")  # the widget offers it when a conversation ends, or after a handover


class Satisfaction(Base):
    """A resident's rating of a whole conversation on the five levels; a 不满意 one is followed up by staff
    (who, when, what was done)."""

    __tablename__ = "satisfaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    session: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[str] = mapped_column(String(20))  # one of SATISFACTION_LEVELS
    occasion: Mapped[str] = mapped_column(String(16))  # one of RATING_OCCASIONS
    lang: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    followed_up_by: Mapped[str | None] = mapped_column(String(100))
    followed_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    follow_up_note: Mapped[str | None] = mapped_column(Text)


class StaffUser(Base):
    """A town staff member who signs in to the admin; the password is stored as an argon2 hash."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="viewer")  # viewer | editor | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Sessions: a cookie carries the version it was issued under; raising it ends every session of the account
    # (sign-out, password change, role change, deactivation).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Failed sign-ins in a row, and until when the account refuses sign-in (the delay grows with the failures).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @validates("password_hash", "role", "active")
    def _end_sessions_on_change(self, key: str, value: Any) -> Any:
        """A new password, another role, switching off or on: every session of the account ends, whichever
        code makes the change (the admin's screens, `python -m kb`, a script)."""
        if self.id is not None and getattr(self, key) != value:
            self.end_sessions()
        return value

    def end_sessions(self) -> None:
        """End every session of this account (the session cookies name the version they were issued under)."""
        self.session_version = (self.session_version or 1) + 1

    def __str__(self) -> str:
        return self.username


class SessionDeletion(Base):
    """Audit line: a staff member deleted one resident's conversation (who, which session, when, how much).

    Only the session id and counts are kept: nothing the resident wrote (kb.retention.delete_session writes it).
    """

    __tablename__ = "session_deletion"

    id: Mapped[int] = mapped_column(primary_key=True)
    session: Mapped[str] = mapped_column(String(64), index=True)
    deleted_by: Mapped[str] = mapped_column(String(100))
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    events: Mapped[int] = mapped_column(Integer, default=0)  # tracker events deleted
    feedback: Mapped[int] = mapped_column(Integer, default=0)  # feedback rows deleted
    questions: Mapped[int] = mapped_column(Integer, default=0)  # unanswered questions taken off the list


# ---------- live handover to town staff (转人工; kb/handover.py) ----------
HANDOVER_OPEN = ("waiting", "active")  # a person has the conversation, or it is in the queue for one
HANDOVER_STATES = (*HANDOVER_OPEN, "closed", "cancelled", "expired")  # closed by staff, by the resident, or untaken


class HandoverSettings(Base):
    """What staff set for the live handover (one row, id 1); an empty field means the ZHITANG_* default."""

    __tablename__ = "handover_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The weekly hours, structured (bot/office_hours.to_json: {"mon": [["8:30", "12:00"], ...]}), so replies say them
    # in the resident's language; what staff type is read into this on save (migration 0009 read the old text).
    weekly_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    hours_note: Mapped[str | None] = mapped_column(Text)  # free text from staff: shown labelled, as written
    holidays: Mapped[str | None] = mapped_column(Text)  # ISO dates, one a line
    wait_minutes: Mapped[int | None] = mapped_column(Integer)  # untaken this long: offer to leave a message
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Handover(Base):
    """One resident's request for a person: queued (waiting), taken by a staff member (active), then closed by
    staff, cancelled by the resident or expired untaken. `taken_by` is never shown to the resident."""

    __tablename__ = "handover"

    id: Mapped[int] = mapped_column(primary_key=True)
    session: Mapped[str] = mapped_column(String(64), index=True)
    lang: Mapped[str] = mapped_column(String(2), default="zh")
    state: Mapped[str] = mapped_column(String(16), index=True, default="waiting")  # one of HANDOVER_STATES
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    taken_by: Mapped[str | None] = mapped_column(String(100))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HandoverEvent(Base):
    """What happened in a handover, in order (its id is the cursor the widget and the staff page resume from):
    a message from the resident or from staff (masked), or a new state."""

    __tablename__ = "handover_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handover.id", ondelete="CASCADE"), index=True)
    session: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # resident | staff | state
    text: Mapped[str] = mapped_column(Text, default="")  # a message, or the new state
    author: Mapped[str | None] = mapped_column(String(100))  # the staff member (for staff only, never residents)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ResidentMessage(Base):
    """A message left for staff (留言) when nobody could take the conversation, with a callback number only if the
    resident consented; the number is shown only on the staff's page of this message."""

    __tablename__ = "resident_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    session: Mapped[str] = mapped_column(String(64), index=True)
    lang: Mapped[str] = mapped_column(String(2), default="zh")
    text: Mapped[str] = mapped_column(Text)  # masked
    phone: Mapped[str | None] = mapped_column(String(32))  # as given, with consent; None without
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    done_by: Mapped[str | None] = mapped_column(String(100))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
