"""Fixtures: every database test runs on SQLite, and on PostgreSQL when IMPWATCH_TEST_POSTGRES_URL is set.

Each test gets its own database, copied from a template that the real Alembic migrations built once per run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app import db
from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from tests.face_cache import FaceCache, faces_cached
from tests.face_pool import SharedFaceWorkers
from tests.factories import DEFAULT_ORGANIZATION, api_key, bearer
from tests.impwatch import Ran, run
from tests.support import PostgresCopies, running_server
from tests.watchers.sources.tme_pages import ChannelServer

POSTGRES_URL = os.environ.get("IMPWATCH_TEST_POSTGRES_URL", "")
DATABASES = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]

pytest_plugins = ["tests.leftover_processes"]


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


@pytest.fixture(scope="session")
def postgres_copies(postgres_template: str) -> Iterator[PostgresCopies]:
    """Fresh copies of the template, made ahead in the background and dropped behind (tests/support.py)."""
    copies = PostgresCopies(POSTGRES_URL, postgres_template)
    yield copies
    copies.close()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test's own database, migrated: a copy of the SQLite template, or of the PostgreSQL one."""
    if request.param == "sqlite":
        path = tmp_path / "impwatch.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    with postgres_copy(request) as url:
        yield url


@contextmanager
def postgres_copy(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh copy of the migrated PostgreSQL template for one test, given back after it."""
    copies: PostgresCopies = request.getfixturevalue("postgres_copies")
    name = copies.take()
    try:
        yield copies.url(name)
    finally:
        copies.give_back(name)


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    """Settings of a test: its own data folder and database; webhooks may go to the local test receivers. The
    uncalibrated `match` threshold is the former single tolerance (0.5), so tests of other parts see the Western
    samples alert as before; the tests of tiers and calibration ask for the installation's default."""
    defaults = {"webhook_allow_private_urls": True, "default_match_threshold": 0.5}
    return Settings(data_dir=tmp_path / "data", database_url=database_url, **{**defaults, **overrides})


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture(scope="session")
def shared_face_workers() -> Iterator[SharedFaceWorkers]:
    """The session's face worker pools (tests/face_pool.py), lent to the runtimes of the fixtures below."""
    shared = SharedFaceWorkers()
    yield shared
    shared.close()


@pytest.fixture(scope="module")
def face_cache() -> Iterator[FaceCache]:
    """The face engine's answers memoised for the rest of this module (tests/face_cache.py); a module opts in with
    `pytestmark = pytest.mark.usefixtures("cached_faces")`."""
    with faces_cached() as cache:
        yield cache


@pytest.fixture
def cached_faces(face_cache: FaceCache) -> FaceCache:
    return face_cache


@pytest.fixture
def runtime(settings: Settings, shared_face_workers: SharedFaceWorkers) -> Iterator[Runtime]:
    runtime = shared_face_workers.lend_to(Runtime.from_settings(settings))
    yield runtime
    runtime.close()


@pytest.fixture
def make_runtime(
    tmp_path: Path, database_url: str, shared_face_workers: SharedFaceWorkers
) -> Iterator[Callable[..., Runtime]]:
    """Runtimes on this test's database with settings overridden (face work in-process unless asked)."""
    made: list[Runtime] = []

    def make(**overrides: object) -> Runtime:
        settings = make_settings(tmp_path, database_url, **{"face_workers": 0, **overrides})
        made.append(shared_face_workers.lend_to(Runtime.from_settings(settings)))
        return made[-1]

    yield make
    for runtime in made:
        runtime.close()


@pytest.fixture
def channels() -> Iterator[ChannelServer]:
    """A local t.me preview server: channels and posts are added by the test."""
    with ChannelServer() as server:
        yield server


@pytest.fixture
def server(runtime: Runtime) -> Iterator[str]:
    """The app served by uvicorn on a real socket; its base URL."""
    with running_server(create_app(runtime)) as base_url:
        yield base_url


@pytest.fixture
def client_as(runtime: Runtime, server: str) -> Iterator[Callable[..., httpx.Client]]:
    """HTTP clients of the served app, each with a new key of the given role (of the test organisation)."""
    clients: list[httpx.Client] = []

    def make(role: str, organization: str = DEFAULT_ORGANIZATION) -> httpx.Client:
        key = api_key(runtime, role, organization)
        clients.append(httpx.Client(base_url=server, timeout=60, headers=bearer(key)))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(client_as: Callable[..., httpx.Client]) -> httpx.Client:
    """A press office's administrator: its people, webhooks, alerts and scans."""
    return client_as("org_admin")


@pytest.fixture
def operator_api(client_as: Callable[..., httpx.Client]) -> httpx.Client:
    """The installation's operator: organisations, keys and watches."""
    return client_as("operator")


@pytest.fixture
def impwatch(tmp_path: Path) -> Callable[..., Ran]:
    """`impwatch ARGS` run in this process (tests/impwatch.py) from `tmp_path`, on the SQLite database under
    `tmp_path / "data"` unless `settings` (extra environment, `{"IMPWATCH_...": "..."}`) names another one."""

    def invoke(*args: str, settings: dict[str, str] | None = None) -> Ran:
        return run(tmp_path, *args, settings=settings)

    return invoke
