"""One face worker pool per test session, lent to every runtime whose face work would start an identical one.

A runtime with `face_workers > 0` starts worker processes on its first analysis, and each of them imports dlib and
loads its models, seconds of CPU before the first face; the scan API tests did that in every test. Runtimes built by
the `runtime` and `make_runtime` fixtures borrow a `FaceWorkers` of the session instead, one per set of settings that
shape the work (engine options, frame sampling, processes, time limits), and closing the runtime leaves it running.
The session closes them at its end, before the check for leftover processes (tests/leftover_processes.py).
Tests that are about a pool of their own (tests/watchers/test_workers.py) build `FaceWorkers` themselves.
"""

from __future__ import annotations

from app.runtime import Runtime
from watchers.frames import FrameSampling
from watchers.workers import FaceWorkers
from watchlist.engine import EngineOptions

PoolKey = tuple[EngineOptions, FrameSampling, int, float | None, float]


class SharedFaceWorkers:
    def __init__(self) -> None:
        self._workers: dict[PoolKey, FaceWorkers] = {}

    def lend_to(self, runtime: Runtime) -> Runtime:
        """Put the session's workers for these settings in place of the runtime's own (which never started)."""
        own = runtime.workers
        if runtime.settings.face_workers == 0:
            return runtime
        key = (
            runtime.engine_options,
            runtime.frame_sampling,
            runtime.settings.face_workers,
            own.time_limit_seconds,
            own.watchdog_grace_seconds,
        )
        shared = self._workers.get(key)
        if shared is None:
            shared = self._workers[key] = FaceWorkers(
                key[0], key[1], key[2], time_limit_seconds=key[3], watchdog_grace_seconds=key[4]
            )
            shared.close = _leave_running  # type: ignore[method-assign]  # Runtime.close leaves it to the session
        shared.time_limit_seconds, shared.watchdog_grace_seconds = key[3], key[4]  # a test may have changed them
        own.close()
        runtime.workers = shared
        return runtime

    def close(self) -> None:
        for workers in self._workers.values():
            FaceWorkers.close(workers)
        self._workers.clear()


def _leave_running() -> None:
    return None
