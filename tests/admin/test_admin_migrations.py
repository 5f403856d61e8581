"""Alembic: `create_schema` migrates to head, matches the models, and adopts a database made before migrations."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from kb.db import BASELINE_TABLES, MIGRATIONS_DIR, alembic_config, create_schema, get_engine
from kb.models import Base

HANDOVER_TABLES = ("handover_settings", "handover", "handover_event", "resident_message")  # migration 0007


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_fresh_database_is_migrated_to_head_and_matches_the_models(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    create_schema(url)
    create_schema(url)  # twice is fine
    with get_engine(url).connect() as connection:
        assert set(inspect(connection).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
        assert MigrationContext.configure(connection).get_current_revision() == _head()
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_the_baseline_holds_every_table_but_those_added_later():
    assert set(BASELINE_TABLES) | {"report", "session_deletion", "field_gap", "satisfaction", *HANDOVER_TABLES} == set(
        Base.metadata.tables
    )
    assert (MIGRATIONS_DIR / "versions").is_dir()


def test_a_database_made_before_migrations_is_adopted_with_its_data(tmp_path: Path):
    path = tmp_path / "legacy.sqlite3"
    legacy = create_engine(f"sqlite:///{path}")
    tables = [t for name, t in Base.metadata.tables.items() if name != "staff_user"]
    Base.metadata.create_all(legacy, tables=tables)  # what `create_all` made before this change
    with legacy.begin() as connection:
        connection.execute(text("INSERT INTO kb_state (id, version) VALUES (1, 7)"))
    legacy.dispose()
    url = f"sqlite:///{path}"
    create_schema(url)
    with get_engine(url).connect() as connection:
        assert "staff_user" in inspect(connection).get_table_names()
        assert connection.execute(text("SELECT version FROM kb_state")).scalar() == 7
        assert MigrationContext.configure(connection).get_current_revision() == _head()


def test_every_migration_downgrades_to_an_empty_database_and_back(tmp_path: Path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'round-trip.sqlite3'}"
    create_schema(url)
    config = alembic_config(url)
    command.downgrade(config, "base")
    with get_engine(url).connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    with get_engine(url).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_reports_by_year_give_existing_facts_and_sentences_the_report_already_there(
    tmp_path: Path, entries, report_text
):
    """0008 on a database of one report: its report facts and sentences are that report's afterwards."""
    from alembic import command

    from kb.build import build
    from kb.db import session_factory

    url = f"sqlite:///{tmp_path / 'one-report.sqlite3'}"
    create_schema(url)
    with session_factory(url)() as session, session.begin():
        build(session, entries, report_text)
    command.downgrade(alembic_config(url), "0007")
    with get_engine(url).connect() as connection:
        assert "report_year" not in {c["name"] for c in inspect(connection).get_columns("fact")}
    command.upgrade(alembic_config(url), "head")
    with get_engine(url).connect() as connection:
        years = (
            connection.execute(text("SELECT DISTINCT report_year FROM fact WHERE quote IS NOT NULL")).scalars().all()
        )
        sentences = connection.execute(text("SELECT DISTINCT report_year FROM report_sentence")).scalars().all()
        staff = connection.execute(text("SELECT COUNT(*) FROM fact WHERE quote IS NULL AND report_year IS NOT NULL"))
        assert years == [2022] and sentences == [2022] and staff.scalar() == 0


def test_office_hours_staff_typed_become_days_and_times_and_unreadable_ones_are_kept_as_the_note(tmp_path: Path):
    """0009 on settings saved as typed text: readable hours become structured; text it cannot read is kept word for
    word as the note (with no live hours, as before); downgrading writes readable text back."""
    import json

    from alembic import command

    from bot.office_hours import opening_hours

    url = f"sqlite:///{tmp_path / 'typed-hours.sqlite3'}"
    create_schema(url)
    command.downgrade(alembic_config(url), "0008")
    rows = {1: "周一至周五 8:30-12:00，13:00-16:30", 2: "看情况，电话预约"}
    with get_engine(url).begin() as connection:
        for row_id, typed in rows.items():
            connection.execute(
                text("INSERT INTO handover_settings (id, office_hours, wait_minutes) VALUES (:id, :typed, 10)"),
                {"id": row_id, "typed": typed},
            )
    command.upgrade(alembic_config(url), "head")
    with get_engine(url).connect() as connection:
        assert "office_hours" not in {c["name"] for c in inspect(connection).get_columns("handover_settings")}
        found = {
            row_id: (json.loads(weekly) if weekly else None, note)
            for row_id, weekly, note in connection.execute(
                text("SELECT id, weekly_hours, hours_note FROM handover_settings")
            )
        }
    weekday = [["8:30", "12:00"], ["13:00", "16:30"]]
    assert found[1] == ({day: weekday for day in ("mon", "tue", "wed", "thu", "fri")}, None)
    assert found[2] == ({}, "看情况，电话预约")
    command.downgrade(alembic_config(url), "0008")
    with get_engine(url).connect() as connection:
        typed = dict(connection.execute(text("SELECT id, office_hours FROM handover_settings")).all())
    assert opening_hours(typed[1]) == opening_hours(rows[1]) and typed[2] == rows[2]
