"""Entries' situations: how residents describe the need without naming the service (search, NLU examples)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"

COLUMNS = ("situations_zh", "situations_en")


def upgrade() -> None:
    """Add entry.situations_zh and situations_en (empty lists), unless a database made from the models has them."""
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("entry")}
    with op.batch_alter_table("entry") as batch:
        for name in COLUMNS:
            if name not in present:
                batch.add_column(sa.Column(name, sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("entry") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
