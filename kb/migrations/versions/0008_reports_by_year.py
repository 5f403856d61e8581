"""Reports by year: each report fact and report sentence names its report, and a report keeps its publication
date, its text and who added it, so that later reports can be imported beside the first one.

Existing facts that quote the report and existing sentences are given the report already in the database
(a database has had one report until now; with several, the oldest, which the YAML entries quote).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"

REPORT_COLUMNS = (
    ("published", sa.Date()),
    ("text", sa.Text()),
    ("added_by", sa.String(length=100)),
)


def _columns(table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    """Add the columns (each unless there), point existing facts and sentences at the base report."""
    present = _columns("report")
    with op.batch_alter_table("report") as batch:
        for name, kind in REPORT_COLUMNS:
            if name not in present:
                batch.add_column(sa.Column(name, kind, nullable=True))
    if "report_year" not in _columns("fact"):
        with op.batch_alter_table("fact") as batch:
            batch.add_column(sa.Column("report_year", sa.Integer(), nullable=True))
            batch.add_column(sa.Column("series", sa.String(length=64), nullable=True))
            batch.create_index(batch.f("ix_fact_report_year"), ["report_year"])
            batch.create_foreign_key(batch.f("fk_fact_report_year_report"), "report", ["report_year"], ["year"])
    if "report_year" not in _columns("report_sentence"):
        with op.batch_alter_table("report_sentence") as batch:
            batch.add_column(sa.Column("report_year", sa.Integer(), nullable=True))
            batch.drop_constraint(batch.f("uq_report_sentence_position"), type_="unique")
            batch.create_unique_constraint(batch.f("uq_report_sentence_report_year"), ["report_year", "position"])
            batch.create_index(batch.f("ix_report_sentence_report_year"), ["report_year"])
            batch.create_foreign_key(
                batch.f("fk_report_sentence_report_year_report"), "report", ["report_year"], ["year"]
            )
    base = op.get_bind().execute(sa.text("SELECT MIN(year) FROM report")).scalar()
    if base is not None:
        op.execute(
            sa.text(
                "UPDATE fact SET report_year = :year WHERE report_year IS NULL AND source = 'report' "
                "AND quote IS NOT NULL"
            ).bindparams(year=base)
        )
        op.execute(
            sa.text("UPDATE report_sentence SET report_year = :year WHERE report_year IS NULL").bindparams(year=base)
        )


def downgrade() -> None:
    """Back to one report: the later reports' sentences go (the facts that quote them stay, without their
    report), then the columns."""
    base = op.get_bind().execute(sa.text("SELECT MIN(year) FROM report")).scalar()
    if base is not None:
        op.execute(sa.text("DELETE FROM report_sentence WHERE report_year <> :year").bindparams(year=base))
    with op.batch_alter_table("report_sentence") as batch:
        batch.drop_constraint(batch.f("fk_report_sentence_report_year_report"), type_="foreignkey")
        batch.drop_index(batch.f("ix_report_sentence_report_year"))
        batch.drop_constraint(batch.f("uq_report_sentence_report_year"), type_="unique")
        batch.create_unique_constraint(batch.f("uq_report_sentence_position"), ["position"])
        batch.drop_column("report_year")
    with op.batch_alter_table("fact") as batch:
        batch.drop_constraint(batch.f("fk_fact_report_year_report"), type_="foreignkey")
        batch.drop_index(batch.f("ix_fact_report_year"))
        batch.drop_column("series")
        batch.drop_column("report_year")
    with op.batch_alter_table("report") as batch:
        for name, _ in reversed(REPORT_COLUMNS):
            batch.drop_column(name)
