"""Shared test helpers: databases built by the real migrations, a real uvicorn server, and polling."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

FIXTURES = Path(__file__).resolve().parent / "fixtures"
T = TypeVar("T")


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def fixture_bytes(name: str) -> bytes:
    return fixture_path(name).read_bytes()


def wait_for(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port in a thread; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def postgres_database_from_template(admin_url: str, template: str) -> Iterator[str]:
    """A fresh PostgreSQL database copied from an already-migrated template; dropped afterwards."""
    name = f"impwatch_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class PostgresCopies:
    """Copies of an already-migrated template made ahead of the tests that need them, and dropped after them, by a
    background thread: creating a database from a template and dropping one wait on the server's disk for a second or
    so each, and a test on SQLite runs meanwhile. Each copy is used by one test only, as before.

    `take` hands out a fresh copy (waiting for one if none is ready; raising what the thread failed with, such as the
    server being down), `give_back` queues its drop, `close` stops the thread and drops every copy left.
    """

    def __init__(self, admin_url: str, template: str, ahead: int = 2) -> None:
        self._admin_url, self._template, self._ahead = admin_url, template, ahead
        self._admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self._ready: list[str] = []
        self._to_drop: list[str] = []
        self._failure: BaseException | None = None
        self._closing = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="postgres-copies", daemon=True)
        self._thread.start()

    def url(self, name: str) -> str:
        return sa.engine.make_url(self._admin_url).set(database=name).render_as_string(hide_password=False)

    def take(self) -> str:
        """The name of a fresh copy of the template, for one test."""
        with self._changed:
            while not self._ready and self._failure is None:
                self._changed.wait()
            if self._failure is not None:
                raise RuntimeError("could not copy the PostgreSQL template") from self._failure
            name = self._ready.pop(0)
            self._changed.notify_all()
            return name

    def give_back(self, name: str) -> None:
        with self._changed:
            self._to_drop.append(name)
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join(timeout=60)
        for name in [*self._ready, *self._to_drop]:
            self._drop(name)
        self._ready.clear()
        self._to_drop.clear()
        self._admin.dispose()

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._closing and not self._to_drop and len(self._ready) >= self._ahead:
                    self._changed.wait()
                if self._closing:
                    return
                dropping = self._to_drop.pop(0) if len(self._ready) >= self._ahead else None
            try:
                if dropping is not None:
                    self._drop(dropping)
                    continue
                name = f"impwatch_test_{uuid.uuid4().hex[:12]}"
                with self._admin.connect() as connection:
                    connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"'))
            except BaseException as failure:
                with self._changed:
                    self._failure = failure
                    self._changed.notify_all()
                return
            with self._changed:
                self._ready.append(name)
                self._changed.notify_all()

    def _drop(self, name: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
