"""Report metadata (year, title) and the contact entry, so no year or entry id is written in the logic."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"


def upgrade() -> None:
    """Add the report table and kb_state.contact_entry (each unless there: a database made before migrations
    is given its missing tables from the current models before it is stamped with the baseline)."""
    inspector = sa.inspect(op.get_bind())
    if "report" in inspector.get_table_names():
        _add_contact_entry(inspector)
        return
    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
        sa.UniqueConstraint("year", name=op.f("uq_report_year")),
    )
    _add_contact_entry(inspector)


def _add_contact_entry(inspector: sa.Inspector) -> None:
    if "contact_entry" not in {column["name"] for column in inspector.get_columns("kb_state")}:
        with op.batch_alter_table("kb_state") as batch:
            batch.add_column(sa.Column("contact_entry", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("kb_state") as batch:
        batch.drop_column("contact_entry")
    op.drop_table("report")
