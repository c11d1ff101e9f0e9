"""Face work in a process pool, so that the API and the scheduler stay responsive while dlib runs.

Each worker process builds its own `FaceEngine` once; the caller sends the file path and the current matcher
(a few hundred kilobytes of float32 for a large watchlist) with every task.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from watchers.frames import FrameSampling
from watchers.metrics import record_analysis
from watchers.scanning import MediaAnalysis, analyse_file
from watchlist.engine import EngineOptions, FaceEngine
from watchlist.errors import InputRejected
from watchlist.matcher import Matcher

_worker_engine: FaceEngine | None = None


def _start_worker(options: EngineOptions) -> None:
    global _worker_engine
    _worker_engine = FaceEngine(options)


def _analyse_in_worker(path: Path, matcher: Matcher, sampling: FrameSampling) -> MediaAnalysis:
    assert _worker_engine is not None, "worker was started without an engine"
    return analyse_file(path, _worker_engine, matcher, sampling)


class FaceWorkers:
    """Runs `analyse_file` in `processes` worker processes, or in the calling thread when `processes` is 0."""

    def __init__(self, options: EngineOptions, sampling: FrameSampling, processes: int) -> None:
        self._sampling = sampling
        self._options = options
        self._processes = processes
        self._engine = FaceEngine(options)
        self._pool = self._new_pool() if processes > 0 else None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._options,),
        )

    def analyse(self, path: Path, matcher: Matcher) -> MediaAnalysis:
        """Find faces and matches in a photo or video; raises `InputRejected` as `analyse_file` does.

        A file that crashes a worker (a decoder bug, say) is refused, and the pool is rebuilt for the next one.
        """
        started = time.perf_counter()
        analysis = self._analyse(path, matcher)
        record_analysis(analysis, time.perf_counter() - started)
        return analysis

    def _analyse(self, path: Path, matcher: Matcher) -> MediaAnalysis:
        if self._pool is None:
            return analyse_file(path, self._engine, matcher, self._sampling)
        try:
            return self._pool.submit(_analyse_in_worker, path, matcher, self._sampling).result()
        except BrokenProcessPool as exc:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            raise InputRejected("analysis_crashed", "the file crashed the face worker and was not analysed") from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
