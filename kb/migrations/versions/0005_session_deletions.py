"""Audit of conversations deleted by staff: session_deletion (who deleted which session when, and how much)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"

TABLE = "session_deletion"


def upgrade() -> None:
    """Create the table, unless a database made from the models has it."""
    if TABLE in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session", sa.String(length=64), nullable=False),
        sa.Column("deleted_by", sa.String(length=100), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("feedback", sa.Integer(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_deletion")),
    )
    op.create_index(op.f("ix_session_deletion_session"), TABLE, ["session"], unique=False)


def downgrade() -> None:
    """Drop it again."""
    op.drop_index(op.f("ix_session_deletion_session"), table_name=TABLE)
    op.drop_table(TABLE)
