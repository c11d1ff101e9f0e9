"""The database: engine, sessions, and migrations run through Alembic.

Alembic is imported by the functions that migrate: every command makes sure the database is migrated, and when it
is (every start but the first after an upgrade), `ensure_migrated` finds that out without Alembic.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 30_000
ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"
VERSION_TABLE = "alembic_version"


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema up to `revision`; safe to run on every start."""
    from alembic import command

    _ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)


def ensure_migrated(url: str) -> None:
    """`upgrade(url)`, skipped when the database is already at the latest migration."""
    heads = migration_heads()
    if heads is None or stored_revisions(url) != heads:
        upgrade(url)


def migration_heads(versions: Path = ALEMBIC_DIR / "versions") -> set[str] | None:
    """The latest revisions, read from the `revision` and `down_revision` lines of the migration scripts (those no
    other script follows), as Alembic finds them; None when a script states them in a way not read here, and only
    Alembic can tell."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for script in versions.glob("*.py"):
        stated = _stated_revisions(script)
        if stated is None:
            return None
        revision, down_revisions = stated
        revisions.add(revision)
        followed.update(down_revisions)
    return revisions - followed or None


def _stated_revisions(script: Path) -> tuple[str, set[str]] | None:
    """A script's `revision` and the revisions it follows; None when they are not plain strings."""
    stated = dict(_literal_assignments(script, {"revision", "down_revision"}))
    revision, down = stated.get("revision"), stated.get("down_revision")
    follows = [] if down is None else [down] if isinstance(down, str) else down
    if isinstance(revision, str) and isinstance(follows, tuple | list) and all(isinstance(r, str) for r in follows):
        return revision, set(follows)
    return None


def _literal_assignments(script: Path, names: set[str]) -> Iterator[tuple[str, object]]:
    """The module-level `name = <literal>` (or `name: type = <literal>`) of `names`; anything else that is assigned
    to one of them comes out as `...`, which no caller takes for a revision."""
    for node in ast.parse(script.read_text(), str(script)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            try:
                yield target.id, ast.literal_eval(value)
            except ValueError:
                yield target.id, ...


def stored_revisions(url: str) -> set[str]:
    """The revisions the database says it is at (none for an empty database)."""
    _ensure_sqlite_folder(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(VERSION_TABLE):
                return set()
            return set(connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    finally:
        engine.dispose()


def schema_is_current(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head
