"""PostgreSQL advisory locks held on a connection of their own: one scheduler at a time (a second one waits as a
standby and takes over when the first stops), one consumer of the telegram queue, one run of a watch at a time.

A session-level advisory lock lives as long as the database session that took it: the lock is held on a connection
outside the pool (so closing it really ends the session), and a process that dies, SIGKILL included, loses its lock
as soon as the server sees the connection close. Advisory locks are local to one database, so two installations on
one server never meet. On SQLite (one machine) nothing is locked across processes: run one scheduler.
"""

from __future__ import annotations

import logging
import threading
import uuid
import zlib
from collections.abc import Callable
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

SCHEDULER_LOCK = 0x696D_7077_0001  # "impw" 1: the scheduler
TELEGRAM_LOCK = 0x696D_7077_0002  # the consumer of the telegram queue (one Telethon session, one process)
WATCH_RUN_LOCKS = 0x696D_7001  # the class of the per-watch locks (two-key form: class, watch)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class AdvisoryLock:
    """A session-level `pg_try_advisory_lock` on a dedicated connection. `try_acquire` answers at once; `held`
    checks that the connection (hence the lock) is still alive; `release` ends the session. On SQLite every
    acquisition succeeds: there is one machine, and the operator runs one scheduler on it."""

    def __init__(self, engine: Engine, *key: int) -> None:
        self._engine = engine
        self._key = key
        self._lock_engine: Engine | None = None
        self._connection: Connection | None = None
        self._acquired = False

    def try_acquire(self) -> bool:
        if self._acquired:
            return True
        if not is_postgres(self._engine):
            self._acquired = True
            return True
        try:
            connection = self._connect()
            taken = connection.execute(sa.text(f"SELECT pg_try_advisory_lock({self._placeholders})"), self._params)
            self._acquired = bool(taken.scalar())
        except sa.exc.DBAPIError:
            log.warning("could not ask PostgreSQL for the lock %s; trying again later", self._key, exc_info=True)
            self._close()
            return False
        return self._acquired

    def held(self) -> bool:
        """False once the lock is lost: never taken, released, or its connection gone (the server restarted)."""
        if not self._acquired:
            return False
        if self._connection is None:
            return True
        try:
            self._connection.execute(sa.text("SELECT 1"))
        except sa.exc.DBAPIError:
            self._acquired = False
            self._close()
            return False
        return True

    def release(self) -> None:
        if self._connection is not None and self._acquired:
            try:
                self._connection.execute(sa.text(f"SELECT pg_advisory_unlock({self._placeholders})"), self._params)
            except sa.exc.DBAPIError:
                log.info("the lock %s went with its connection", self._key)
        self._acquired = False
        self._close()

    def wait(self, stop: threading.Event, seconds: float, on_standby: Callable[[], object] | None = None) -> bool:
        """Try every `seconds` until the lock is taken (True) or `stop` is set (False); `on_standby` is called once,
        when the first try finds the lock held by another process."""
        if self.try_acquire():
            return True
        if on_standby is not None:
            on_standby()
        while not stop.wait(seconds):
            if self.try_acquire():
                return True
        return False

    def __enter__(self) -> bool:
        return self.try_acquire()

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.release()

    @property
    def _placeholders(self) -> str:
        return ", ".join(f":k{index}" for index in range(len(self._key)))

    @property
    def _params(self) -> dict[str, int]:
        return {f"k{index}": value for index, value in enumerate(self._key)}

    def _connect(self) -> Connection:
        if self._connection is None:
            self._lock_engine = sa.create_engine(self._engine.url, poolclass=NullPool)
            self._connection = self._lock_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._connection

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except sa.exc.DBAPIError:
                log.debug("closing the lock's connection failed", exc_info=True)
            self._connection = None
        if self._lock_engine is not None:
            self._lock_engine.dispose()
            self._lock_engine = None


class WatchRunLocks:
    """One run of a watch at a time across consumers: a run enqueued while another is still going is dropped (the
    next tick enqueues it again). PostgreSQL: a per-watch advisory lock; SQLite (one machine): a lock in this
    process, with one process consuming each watch queue."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._running: set[uuid.UUID] = set()
        self._guard = threading.Lock()

    def run_alone(self, watch_id: uuid.UUID, run: Callable[[uuid.UUID], object]) -> bool:
        """Run `run(watch_id)` unless a run of that watch is in progress; True when it ran."""
        with self._guard:
            if watch_id in self._running:
                return False
            self._running.add(watch_id)
        try:
            lock = AdvisoryLock(self._engine, WATCH_RUN_LOCKS, _int32(watch_id))
            with lock as taken:
                if not taken:
                    return False
                run(watch_id)
                return True
        finally:
            with self._guard:
                self._running.discard(watch_id)


def _int32(watch_id: uuid.UUID) -> int:
    """A watch's key in the lock class: a collision only makes two watches take turns."""
    return zlib.crc32(watch_id.bytes) - 2**31
