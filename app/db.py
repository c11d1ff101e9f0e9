"""The database: engine, sessions, and migrations run through Alembic."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection

from alembic import command

SQLITE_BUSY_TIMEOUT_MS = 30_000
ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


def make_engine(url: str) -> Engine:
    """An engine for SQLite or PostgreSQL; SQLite gets WAL, foreign keys and a busy timeout for concurrent use, and
    overwrites deleted content (biometric data must not linger in free pages)."""
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        sa.event.listen(engine, "connect", _configure_sqlite)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _ensure_sqlite_folder(url: str) -> None:
    parsed = sa.engine.make_url(url)
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def flush_deleted_data(engine: Engine) -> None:
    """After an erasure: on SQLite, deleted rows are zeroed in place (`secure_delete`), and here the write-ahead
    log, which still holds copies of the pages from before, is checkpointed and truncated, so nothing erased stays
    in any file. PostgreSQL removes dead rows with its own vacuum."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema up to `revision`; safe to run on every start."""
    _ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)


def schema_is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
