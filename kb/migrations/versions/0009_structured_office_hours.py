"""Office hours of the live handover kept structured: `handover_settings.weekly_hours` (JSON, weekday -> time
ranges, bot/office_hours.to_json) instead of the text staff typed, so that replies say them in the resident's
language; `hours_note` keeps free text from staff, shown labelled as written.

Existing settings are carried over: a typed text the parser reads becomes the structured hours; one it cannot
read (the admin always refused those, but a row may have been written by hand) is kept word for word as the note,
with no weekly hours (as before, such hours never let a person answer live). Downgrade writes the hours back as
text the parser reads ("Mon-Fri 8:30-12:00, 13:00-16:30"), or the note where there are none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.office_hours import clock, from_json, opening_hours, runs, to_json

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"

TABLE = "handover_settings"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _columns() -> set[str]:
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns(TABLE)}


def upgrade() -> None:
    """Add the two columns, read each row's typed hours into them, drop the typed text."""
    present = _columns()
    if "weekly_hours" in present:
        return  # a database made from the models
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("weekly_hours", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("hours_note", sa.Text(), nullable=True))
    bind = op.get_bind()
    for row_id, typed in bind.execute(sa.text(f"SELECT id, office_hours FROM {TABLE}")).all():
        if not typed or not typed.strip():
            continue
        week = opening_hours(typed)
        weekly, note = (to_json(week), None) if week is not None else ({}, typed)
        update = sa.text(f"UPDATE {TABLE} SET weekly_hours = :weekly, hours_note = :note WHERE id = :id")
        bind.execute(
            update.bindparams(sa.bindparam("weekly", type_=sa.JSON())), {"weekly": weekly, "note": note, "id": row_id}
        )
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column("office_hours")


def _typed(weekly: object) -> str:
    """Structured hours as a text bot/office_hours.opening_hours reads back."""
    week = from_json(json.loads(weekly) if isinstance(weekly, str) else weekly)
    return ", ".join(
        f"{DAYS[days[0]]}"
        + (f"-{DAYS[days[-1]]}" if len(days) > 1 else "")
        + " "
        + ", ".join(f"{clock(opens)}-{clock(closes)}" for opens, closes in ranges)
        for days, ranges in runs(week)
    )


def downgrade() -> None:
    """The typed text again, from the structured hours (or the note where there are none)."""
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("office_hours", sa.Text(), nullable=True))
    bind = op.get_bind()
    for row_id, weekly, note in bind.execute(sa.text(f"SELECT id, weekly_hours, hours_note FROM {TABLE}")).all():
        typed = (_typed(weekly) if weekly is not None else "") or note
        if typed:
            bind.execute(
                sa.text(f"UPDATE {TABLE} SET office_hours = :typed WHERE id = :id"), {"typed": typed, "id": row_id}
            )
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column("hours_note")
        batch.drop_column("weekly_hours")
