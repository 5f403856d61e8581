"""Initial schema: every KB table (the baseline a database made before migrations is stamped with).

Revision ID: 0001
Revises:
Create Date: 2026-11-26 23:10:24.275868

The columns are written with the small helpers below rather than one ``sa.Column`` a line:
the same column kinds (an integer key, a timestamp, a bilingual pair) recur in every table.
``tests/admin/test_admin_migrations.py`` checks the result against the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Staff-filled contact fields of an entry, each a nullable zh/en pair.
STAFF_PAIRS = ("office", "address", "hours", "phone", "documents", "how_to_apply", "eligibility", "link")
#: Tables with indexed columns, as (table, columns), in creation order.
INDEXES = (
    ("entry", ("retired", "topic")),
    ("feedback", ("entry_id", "session")),
    ("revision", ("entry_id",)),
    ("fact", ("entry_id",)),
)


def _col(name: str, kind: sa.types.TypeEngine | type, null: bool = False) -> sa.Column:
    return sa.Column(name, kind, nullable=null)


def _pair(name: str, kind: sa.types.TypeEngine | type, null: bool = False) -> list[sa.Column]:
    """The ``name_zh`` and ``name_en`` columns of a bilingual field."""
    return [_col(f"{name}_{lang}", kind, null) for lang in ("zh", "en")]


def _str(name: str, length: int, null: bool = False) -> sa.Column:
    return _col(name, sa.String(length=length), null)


def _when(name: str) -> sa.Column:
    return _col(name, sa.DateTime(timezone=True))


def _table(name: str, *columns: sa.Column | sa.Constraint, unique: tuple[str, ...] = ()) -> None:
    """Create a table whose primary key is ``id`` (an integer, unless the columns give it), with constraint
    names as the models' naming convention makes them."""
    if not any(isinstance(c, sa.Column) and c.name == "id" for c in columns):
        columns = (_col("id", sa.Integer()), *columns)
    constraints: list[sa.Constraint] = [sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}"))]
    if unique:
        constraints.append(sa.UniqueConstraint(*unique, name=op.f(f"uq_{name}_{unique[0]}")))
    op.create_table(name, *columns, *constraints)


def upgrade() -> None:
    """Upgrade the schema."""
    _table(
        "entry",
        _str("id", 64),
        _str("topic", 64),
        *_pair("title", sa.String(length=200)),
        *_pair("summary", sa.Text()),
        *_pair("aliases", sa.JSON()),
        _col("related", sa.JSON()),
        *[column for field in STAFF_PAIRS for column in _pair(field, sa.Text(), null=True)],
        _col("revision", sa.Integer()),
        _str("source", 16),
        _col("staff_edited", sa.Boolean()),
        _str("updated_by", 100),
        _when("updated_at"),
        _col("retired", sa.Boolean()),
    )
    _table(
        "feedback",
        _str("session", 64),
        _str("rating", 4),
        _str("question", 500, null=True),
        _col("answer", sa.Text(), null=True),
        _str("entry_id", 64, null=True),
        _str("lang", 2, null=True),
        _when("created_at"),
    )
    _table(
        "staff_user",
        _str("username", 100),
        _str("password_hash", 255),
        _str("role", 16),
        _col("active", sa.Boolean()),
        _when("created_at"),
        unique=("username",),
    )
    _table("kb_state", _col("version", sa.Integer()))
    _table(
        "unanswered_question",
        _str("text", 500),
        _str("lang", 2),
        _col("count", sa.Integer()),
        _when("first_seen"),
        _when("last_seen"),
        _str("entry_id", 64, null=True),
        unique=("text",),
    )
    _table(
        "report_sentence",
        _col("position", sa.Integer()),
        _col("text", sa.Text()),
        unique=("position",),
    )
    _table(
        "revision",
        _str("entry_id", 64),
        _col("revision", sa.Integer()),
        _str("action", 16),
        _str("changed_by", 100),
        _when("changed_at"),
        _col("before", sa.JSON(), null=True),
        _col("after", sa.JSON(), null=True),
    )
    _table(
        "fact",
        _str("entry_id", 64),
        _str("key", 64),
        _col("position", sa.Integer()),
        _str("kind", 16),
        _str("figure", 64, null=True),
        _str("figure_en", 64, null=True),
        *_pair("text", sa.Text()),
        *_pair("keywords", sa.JSON()),
        _col("quote", sa.Text(), null=True),
        _col("sentence", sa.Text(), null=True),
        _str("source", 16),
        _str("created_by", 100),
        _when("created_at"),
        _col("retired", sa.Boolean()),
        sa.ForeignKeyConstraint(["entry_id"], ["entry.id"], name=op.f("fk_fact_entry_id_entry")),
        unique=("entry_id", "key"),
    )
    for table, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def downgrade() -> None:
    """Downgrade the schema: drop the indexes, then the tables, in reverse order."""
    for table, columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(columns):
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
    for table in (
        "fact",
        "unanswered_question",
        "staff_user",
        "revision",
        "report_sentence",
        "kb_state",
        "feedback",
        "entry",
    ):
        op.drop_table(table)
