"""Alembic environment: migrates the KB database of bot/settings.py (or the connection handed in by kb.db)."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from bot import settings
from kb.db import get_engine
from kb.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


# Tables other parts of the app keep in the same database without models here (the WeChat channel's
# short-lived state, bot/web/wechat/store.py): autogenerate must neither drop nor create them.
FOREIGN_TABLES = {"wechat_state"}


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=target_metadata, render_as_batch=True, compare_type=True, include_object=_ours, **kwargs
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (`alembic upgrade head --sql`)."""
    _configure(url=config.get_main_option("sqlalchemy.url") or settings.KB_DATABASE_URL, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the connection kb.db.create_schema passes, or on the configured database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    with get_engine(config.get_main_option("sqlalchemy.url") or None).connect() as conn:
        _configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
