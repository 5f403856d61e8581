"""Staff sessions that end on the server, and locking an account after failed sign-ins.

staff_user.session_version (a session cookie is valid only for the version it was issued under: sign-out, a
password change, a role change and deactivation raise it), failed_logins (failures in a row) and locked_until
(sign-in refused until then).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"


def _columns() -> list[sa.Column]:
    return [
        sa.Column("session_version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    """Add the three columns to staff_user, unless a database made from the models has them."""
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("staff_user")}
    missing = [column for column in _columns() if column.name not in present]
    if missing:
        with op.batch_alter_table("staff_user") as batch:
            for column in missing:
                batch.add_column(column)


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("staff_user") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
