"""The staff queue: dismissed and grouped unanswered questions, field gaps, satisfaction ratings.

unanswered_question gets group_key (similar questions are one group), kind (what the bot replied) and who
dismissed it, when and why; field_gap counts the staff fields residents asked for that nobody filled (what
to fill first); satisfaction holds the 5-level ratings of conversations and their follow-up. The dashboard's
30-day numbers read feedback by created_at, which gets an index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"

TIME = sa.DateTime(timezone=True)
# (name, type, nullable) of the two new tables' columns besides their id.
Columns = tuple[tuple[str, sa.types.TypeEngine, bool], ...]
FIELD_GAP: Columns = (("entry_id", sa.String(length=64), False), ("field", sa.String(length=32), False))
FIELD_GAP += (("count", sa.Integer(), False), ("first_seen", TIME, False), ("last_seen", TIME, False))
SATISFACTION: Columns = (("session", sa.String(length=64), False), ("level", sa.String(length=20), False))
SATISFACTION += (("occasion", sa.String(length=16), False), ("lang", sa.String(length=2), True))
SATISFACTION += (("created_at", TIME, False), ("followed_up_by", sa.String(length=100), True))
SATISFACTION += (("followed_up_at", TIME, True), ("follow_up_note", sa.Text(), True))
QUESTION_COLUMNS = (
    ("group_key", sa.String(length=500)),
    ("kind", sa.String(length=16)),
    ("dismissed_reason", sa.String(length=16)),
    ("dismissed_by", sa.String(length=100)),
    ("dismissed_at", sa.DateTime(timezone=True)),
)


def _indexes(table: str) -> set[str]:
    return {index["name"] or "" for index in sa.inspect(op.get_bind()).get_indexes(table)}


def upgrade() -> None:
    """Add the columns, tables and indexes a database made from the models does not have yet."""
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    present = {column["name"] for column in inspector.get_columns("unanswered_question")}
    with op.batch_alter_table("unanswered_question") as batch:
        for name, kind in QUESTION_COLUMNS:
            if name not in present:
                batch.add_column(sa.Column(name, kind, nullable=True))
    if "ix_unanswered_question_group_key" not in _indexes("unanswered_question"):
        op.create_index("ix_unanswered_question_group_key", "unanswered_question", ["group_key"])
    if "ix_feedback_created_at" not in _indexes("feedback"):
        op.create_index("ix_feedback_created_at", "feedback", ["created_at"])
    if "field_gap" not in tables:
        _table("field_gap", FIELD_GAP, sa.UniqueConstraint("entry_id", "field", name=op.f("uq_field_gap_entry_id")))
        op.create_index(op.f("ix_field_gap_last_seen"), "field_gap", ["last_seen"])
    if "satisfaction" not in tables:
        _table("satisfaction", SATISFACTION)
        op.create_index(op.f("ix_satisfaction_created_at"), "satisfaction", ["created_at"])
        op.create_index(op.f("ix_satisfaction_session"), "satisfaction", ["session"])


def _table(name: str, columns: Columns, *constraints: sa.Constraint) -> None:
    """Create a table: an integer primary key `id`, then (name, type, nullable) columns, then constraints."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        *(sa.Column(column, kind, nullable=nullable) for column, kind, nullable in columns),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        *constraints,
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index(op.f("ix_satisfaction_session"), table_name="satisfaction")
    op.drop_index(op.f("ix_satisfaction_created_at"), table_name="satisfaction")
    op.drop_table("satisfaction")
    op.drop_index(op.f("ix_field_gap_last_seen"), table_name="field_gap")
    op.drop_table("field_gap")
    op.drop_index("ix_feedback_created_at", table_name="feedback")
    op.drop_index("ix_unanswered_question_group_key", table_name="unanswered_question")
    with op.batch_alter_table("unanswered_question") as batch:
        for name, _ in reversed(QUESTION_COLUMNS):
            batch.drop_column(name)
