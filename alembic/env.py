"""Alembic environment: the metadata of every domain's tables, run online against the configured URL."""

from __future__ import annotations

from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import app.alerts.models
import app.auth.models  # registers the tables, as every import below does
import app.notifications.models
import app.reports.models
import app.rescan.models
import app.webhooks.models  # noqa: F401
import watchers.channels.models
import watchers.models  # noqa: F401
import watchlist.models  # noqa: F401
from alembic import context
from app.db import make_engine

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection: Connection) -> None:
    """On SQLite, foreign keys are off while migrating: a batch operation rebuilds a table by copying it and dropping
    the old one, which would otherwise cascade to the rows that refer to it. They are checked again afterwards."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            _check_foreign_keys(connection)
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration left rows that refer to missing rows: {broken[:5]}")


run_migrations_online()
