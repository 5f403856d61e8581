"""Initial schema: every KB table (the baseline a database made before migrations is stamped with).

Revision ID: 0001
Revises:
Create Date: 2026-11-26 23:10:24.275868
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade the schema."""
    op.create_table(
        "entry",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("summary_zh", sa.Text(), nullable=False),
        sa.Column("summary_en", sa.Text(), nullable=False),
        sa.Column("aliases_zh", sa.JSON(), nullable=False),
        sa.Column("aliases_en", sa.JSON(), nullable=False),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("office_zh", sa.Text(), nullable=True),
        sa.Column("office_en", sa.Text(), nullable=True),
        sa.Column("address_zh", sa.Text(), nullable=True),
        sa.Column("address_en", sa.Text(), nullable=True),
        sa.Column("hours_zh", sa.Text(), nullable=True),
        sa.Column("hours_en", sa.Text(), nullable=True),
        sa.Column("phone_zh", sa.Text(), nullable=True),
        sa.Column("phone_en", sa.Text(), nullable=True),
        sa.Column("documents_zh", sa.Text(), nullable=True),
        sa.Column("documents_en", sa.Text(), nullable=True),
        sa.Column("how_to_apply_zh", sa.Text(), nullable=True),
        sa.Column("how_to_apply_en", sa.Text(), nullable=True),
        sa.Column("eligibility_zh", sa.Text(), nullable=True),
        sa.Column("eligibility_en", sa.Text(), nullable=True),
        sa.Column("link_zh", sa.Text(), nullable=True),
        sa.Column("link_en", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("staff_edited", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry")),
    )
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_retired"), ["retired"], unique=False)
        batch_op.create_index(batch_op.f("ix_entry_topic"), ["topic"], unique=False)

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session", sa.String(length=64), nullable=False),
        sa.Column("rating", sa.String(length=4), nullable=False),
        sa.Column("question", sa.String(length=500), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("entry_id", sa.String(length=64), nullable=True),
        sa.Column("lang", sa.String(length=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_session"), ["session"], unique=False)

    op.create_table(
        "kb_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_state")),
    )
    op.create_table(
        "report_sentence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_sentence")),
        sa.UniqueConstraint("position", name=op.f("uq_report_sentence_position")),
    )
    op.create_table(
        "revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revision")),
    )
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revision_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_user_username")),
    )
    op.create_table(
        "unanswered_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unanswered_question")),
        sa.UniqueConstraint("text", name=op.f("uq_unanswered_question_text")),
    )
    op.create_table(
        "fact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("figure", sa.String(length=64), nullable=True),
        sa.Column("figure_en", sa.String(length=64), nullable=True),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("keywords_zh", sa.JSON(), nullable=False),
        sa.Column("keywords_en", sa.JSON(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=True),
        sa.Column("sentence", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["entry.id"], name=op.f("fk_fact_entry_id_entry")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact")),
        sa.UniqueConstraint("entry_id", "key", name=op.f("uq_fact_entry_id")),
    )
    with op.batch_alter_table("fact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fact_entry_id"), ["entry_id"], unique=False)


def downgrade() -> None:
    """Downgrade the schema."""
    with op.batch_alter_table("fact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fact_entry_id"))

    op.drop_table("fact")
    op.drop_table("unanswered_question")
    op.drop_table("staff_user")
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revision_entry_id"))

    op.drop_table("revision")
    op.drop_table("report_sentence")
    op.drop_table("kb_state")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_session"))
        batch_op.drop_index(batch_op.f("ix_feedback_entry_id"))

    op.drop_table("feedback")
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_topic"))
        batch_op.drop_index(batch_op.f("ix_entry_retired"))

    op.drop_table("entry")
