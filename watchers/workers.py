"""Face work in a process pool, so that the API and the scheduler stay responsive while dlib runs.

`FaceWorkers` is a `watchers.analysis.FaceAnalyser`: scans call it directly, and watches reach it through the
`LocalExecutor`, the analysis executor of this process (a task queue across machines would take the executor's
place, each of its workers with a pool of its own).

Each worker process builds its own `FaceEngine` once; the caller sends the file path and the current matcher
(a few hundred kilobytes of float32 for a large watchlist) with every task.

An analysis is limited in time twice: `analyse_file` stops between frames once `time_limit_seconds` have passed,
and a watchdog kills the pool when a worker gives no answer `watchdog_grace_seconds` after that (a decoder stuck
inside one frame). Tasks are handed to the pool only when a worker is free, so time spent waiting for one never
counts against a file.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from core.errors import InputRejected
from watchers.frames import FrameSampling
from watchers.metrics import record_analysis
from watchers.scanning import AnalysisTimeout, FileAnalysis, analyse_file
from watchlist.engine import EngineOptions, FaceEngine
from watchlist.matcher import Matcher

_worker_engine: FaceEngine | None = None


def _start_worker(options: EngineOptions) -> None:
    """Load the engine. A worker ignores SIGINT: Ctrl-C in a terminal reaches the whole process group, and the
    parent, which stops its workers itself, must not find them dead of a KeyboardInterrupt half-way."""
    global _worker_engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_engine = FaceEngine(options)


def _analyse_in_worker(
    path: Path, matcher: Matcher, sampling: FrameSampling, time_limit_seconds: float | None
) -> FileAnalysis:
    assert _worker_engine is not None, "worker was started without an engine"
    return analyse_file(path, _worker_engine, matcher, sampling, time_limit_seconds)


class FaceWorkers:
    """Runs `analyse_file` in `processes` worker processes, or in the calling thread when `processes` is 0."""

    def __init__(
        self,
        options: EngineOptions,
        sampling: FrameSampling,
        processes: int,
        time_limit_seconds: float | None = None,
        watchdog_grace_seconds: float = 60.0,
    ) -> None:
        self._sampling = sampling
        self._options = options
        self._processes = processes
        self.time_limit_seconds = time_limit_seconds
        self.watchdog_grace_seconds = watchdog_grace_seconds
        self._engine = FaceEngine(options)
        self._free_workers = threading.BoundedSemaphore(max(processes, 1))
        self._pool_lock = threading.Lock()
        self._pool = self._new_pool() if processes > 0 else None
        self._closed = False

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._options,),
        )

    def analyse(self, path: Path, matcher: Matcher) -> FileAnalysis:
        """Find faces and matches in a photo or video; raises `InputRejected` as `analyse_file` does.

        A file that crashes a worker (a decoder bug, say) is refused, and the pool is rebuilt for the next one.
        """
        started = time.perf_counter()
        analysis = self._analyse(path, matcher)
        record_analysis(analysis, time.perf_counter() - started)
        return analysis

    def _analyse(self, path: Path, matcher: Matcher) -> FileAnalysis:
        if self._pool is None:
            return analyse_file(path, self._engine, matcher, self._sampling, self.time_limit_seconds)
        try:
            return self._analyse_in_pool(path, matcher)
        except _PoolReplaced:
            return self._analyse_in_pool(path, matcher)

    def _analyse_in_pool(self, path: Path, matcher: Matcher) -> FileAnalysis:
        with self._free_workers:
            pool = self._pool
            assert pool is not None
            if self._closed:
                raise WorkersClosed("the face workers are stopped")
            try:
                future = pool.submit(_analyse_in_worker, path, matcher, self._sampling, self.time_limit_seconds)
                return future.result(timeout=self._watchdog_seconds)
            except (BrokenProcessPool, CancelledError, RuntimeError) as exc:
                if self._closed:  # stopped under this task: it says nothing about the file
                    raise WorkersClosed("the face workers were stopped during the analysis") from exc
                if not isinstance(exc, BrokenProcessPool):
                    raise
                if not self._replace_pool(pool, kill=False):
                    raise _PoolReplaced from exc
                raise InputRejected(
                    "analysis_crashed", "the file crashed the face worker and was not analysed"
                ) from exc
            except FutureTimeout as exc:
                self._replace_pool(pool, kill=True)
                raise AnalysisTimeout.after(self.time_limit_seconds or 0.0) from exc

    @property
    def _watchdog_seconds(self) -> float | None:
        return None if self.time_limit_seconds is None else self.time_limit_seconds + self.watchdog_grace_seconds

    def _replace_pool(self, broken: ProcessPoolExecutor, kill: bool) -> bool:
        """Put a new pool in place of `broken`, killing its workers when `kill`; False when another thread already
        replaced it."""
        with self._pool_lock:
            if self._pool is not broken or self._closed:
                return False
            # The executor has no public way to stop a running task; its worker processes are killed instead.
            stuck = list((broken._processes or {}).values()) if kill else []
            broken.shutdown(wait=False, cancel_futures=True)
            for worker in stuck:
                worker.kill()
            self._pool = self._new_pool()
            return True

    def close(self) -> None:
        """Stop the worker processes now, without waiting for running analyses: queued ones are cancelled, running
        ones killed, and their callers get `WorkersClosed` (what a stopping process wants: a watch run stopped this
        way leaves its media pending for the next start). Safe to call twice."""
        with self._pool_lock:
            self._closed = True
            pool = self._pool
        if pool is None:
            return
        processes = list((pool._processes or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.kill()
        for process in processes:
            process.join(timeout=10)
        pool.shutdown(wait=True)


class WorkersClosed(RuntimeError):
    """The face workers were stopped (the process is shutting down) before this analysis could finish."""


class _PoolReplaced(Exception):
    """The pool was killed under this task because of another one that was stuck: the task is worth another try."""
