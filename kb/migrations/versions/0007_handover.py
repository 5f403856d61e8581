"""Live handover to town staff (转人工): its settings (office hours, holidays, minutes before a message is offered),
the handovers (queue, who took it, how it ended), their events (messages both ways and state changes, the cursor
of the live updates) and the messages residents leave (留言) with a callback number given with consent."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"

TIME = sa.DateTime(timezone=True)
# table -> (column, type, nullable) besides the integer id; and the indexed columns
TABLES: dict[str, tuple[tuple[str, sa.types.TypeEngine, bool], ...]] = {
    "handover_settings": (
        ("office_hours", sa.Text(), True),
        ("holidays", sa.Text(), True),
        ("wait_minutes", sa.Integer(), True),
        ("updated_by", sa.String(length=100), True),
        ("updated_at", TIME, True),
    ),
    "handover": (
        ("session", sa.String(length=64), False),
        ("lang", sa.String(length=2), False),
        ("state", sa.String(length=16), False),
        ("created_at", TIME, False),
        ("taken_by", sa.String(length=100), True),
        ("taken_at", TIME, True),
        ("ended_at", TIME, True),
    ),
    "handover_event": (
        ("handover_id", sa.Integer(), False),
        ("session", sa.String(length=64), False),
        ("kind", sa.String(length=16), False),
        ("text", sa.Text(), False),
        ("author", sa.String(length=100), True),
        ("created_at", TIME, False),
    ),
    "resident_message": (
        ("session", sa.String(length=64), False),
        ("lang", sa.String(length=2), False),
        ("text", sa.Text(), False),
        ("phone", sa.String(length=32), True),
        ("consent_at", TIME, True),
        ("created_at", TIME, False),
        ("done_by", sa.String(length=100), True),
        ("done_at", TIME, True),
    ),
}
INDEXES = {
    "handover": ("session", "state", "created_at"),
    "handover_event": ("handover_id", "session", "created_at"),
    "resident_message": ("session", "created_at"),
}


def upgrade() -> None:
    """Create the four tables, unless a database made from the models has them."""
    present = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns in TABLES.items():
        if name in present:
            continue
        constraints: list[sa.Constraint] = [sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}"))]
        if name == "handover_event":
            constraints.append(
                sa.ForeignKeyConstraint(
                    ["handover_id"],
                    ["handover.id"],
                    name=op.f("fk_handover_event_handover_id_handover"),
                    ondelete="CASCADE",
                )
            )
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), nullable=False),
            *(sa.Column(column, kind, nullable=nullable) for column, kind, nullable in columns),
            *constraints,
        )
        for column in INDEXES.get(name, ()):
            op.create_index(op.f(f"ix_{name}_{column}"), name, [column])


def downgrade() -> None:
    """Drop them again (events before the handovers they belong to)."""
    for name in reversed(TABLES):
        for column in INDEXES.get(name, ()):
            op.drop_index(op.f(f"ix_{name}_{column}"), table_name=name)
        op.drop_table(name)
