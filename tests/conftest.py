"""Fixtures: every database test runs on SQLite, and on PostgreSQL when IMPWATCH_TEST_POSTGRES_URL is set.

Each test gets its own database, copied from a template that the real Alembic migrations built once per run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app import db
from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from tests.support import postgres_database_from_template, running_server

POSTGRES_URL = os.environ.get("IMPWATCH_TEST_POSTGRES_URL", "")
DATABASES = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A template database migrated once; CI sets the URL and fails (not skips) when the server is down."""
    name = f"impwatch_template_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db.upgrade(sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))
    yield name
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "impwatch.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    with postgres_database_from_template(POSTGRES_URL, request.getfixturevalue("postgres_template")) as url:
        yield url


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, **overrides)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def make_runtime(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Runtime]]:
    """Runtimes on this test's database with settings overridden (face work in-process unless asked)."""
    made: list[Runtime] = []

    def make(**overrides: object) -> Runtime:
        made.append(Runtime.from_settings(make_settings(tmp_path, database_url, **{"face_workers": 0, **overrides})))
        return made[-1]

    yield make
    for runtime in made:
        runtime.close()


@pytest.fixture
def api(runtime: Runtime) -> Iterator[httpx.Client]:
    """An HTTP client talking over a real socket to the app served by uvicorn."""
    with running_server(create_app(runtime)) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client
