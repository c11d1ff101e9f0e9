"""Alembic environment: the metadata of every domain's tables, run online against the configured URL."""

from __future__ import annotations

from sqlmodel import SQLModel

import app.auth.models  # registers the tables, as every import below does
import app.models
import app.webhooks.models  # noqa: F401
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


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
